//! The `facteur` binary: a thin shell over `facteur::cli`.

fn main() -> std::process::ExitCode {
    facteur::cli::main()
}
