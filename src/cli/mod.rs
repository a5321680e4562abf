//! Command-line interface (being written).
pub mod mail;
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
