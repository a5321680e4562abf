//! What handlers read from a request besides its form: a cookie, a header cut to a sane length,
//! the client's address as the audit records it (a proxy's `X-Forwarded-For` beside the peer).

use std::net::SocketAddr;

use axum::http::{header, HeaderMap};

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A header's text, at most 500 characters.
pub fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(500).collect())
}

/// The client as the audit records it: the peer, and what a proxy says it forwarded.
pub fn client_ip(headers: &HeaderMap, peer: &SocketAddr) -> String {
    let forwarded = header_text(headers, header::HeaderName::from_static("x-forwarded-for"));
    match forwarded {
        Some(f) => format!("{f} (via {})", peer.ip()),
        None => peer.ip().to_string(),
    }
}

/// A `next` target that stays on this server: a local path, never `//host` or a URL.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_here() {
        assert_eq!(
            local_path(Some("/approval/ab/approve")),
            "/approval/ab/approve"
        );
        for away in ["https://evil.test/", "//evil.test", "/\\evil.test", "evil"] {
            assert_eq!(local_path(Some(away)), "/", "{away}");
        }
        assert_eq!(local_path(None), "/");
    }
}
