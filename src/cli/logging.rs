//! Logging on stderr: the filter people ask for (`--log-level`, else `RUST_LOG`, else `log.level`),
//! text or JSON, and three things no filter can undo:
//!
//! - async-imap writes every command it sends, LOGIN with its password and AUTHENTICATE with its
//!   XOAUTH2 token included, at `log` TRACE level. A directive such as
//!   `async_imap::imap_stream=trace` is more specific than any clamp added to the user's filter,
//!   so the clamp is a second global filter beside the user's (global filters all have to agree):
//!   that crate's TRACE records never pass. (Not a per-layer filter: set up that way, the IMAP
//!   source's own events went missing from `facteur run`'s log; tests/it/imap/binary.rs saw it.)
//! - Field values from outside (file names, subjects) are written with control characters escaped
//!   (`printable::escape`) in the text format; JSON escapes them itself.
//! - Colour only when stderr is a terminal: a log redirected to a file holds no escape codes.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::LogFormat;
use crate::printable::escape;

/// True for the log records that carry credentials: async-imap's TRACE (see the module comment).
fn carries_secrets(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("async_imap") && *meta.level() == Level::TRACE
}

/// Installs the global subscriber (once; later calls are no-ops).
pub fn init(level: &str, format: LogFormat) {
    let user = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let clamp = filter_fn(|meta| !carries_secrets(meta));
    let ansi = std::io::stderr().is_terminal();
    let layer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => {
            let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                let value = format!("{value:?}");
                if field.name() == "message" {
                    write!(w, "{}", escape(&value))
                } else {
                    write!(w, "{}={}", field.name(), escape(&value))
                }
            })
            .delimited(" ");
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(ansi)
                .with_target(false)
                .fmt_fields(fields)
                .boxed()
        }
    };
    let _ = tracing_subscriber::registry()
        .with(user)
        .with(clamp)
        .with(layer)
        .try_init();
}
