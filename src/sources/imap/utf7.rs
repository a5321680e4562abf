//! Folder names on the wire: IMAP's modified UTF-7 (RFC 3501 §5.1.3), so a configured
//! `move_to = "Traitées"` reaches the server as `Trait&AOk-es`. Printable ASCII passes through
//! (`&` becomes `&-`); every other run of characters is UTF-16BE in base64 with `,` for `/`.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // Modified base64 has no padding: only the characters that carry bits.
        let chars = match chunk.len() {
            1 => 2,
            2 => 3,
            _ => 4,
        };
        for k in 0..chars {
            let idx = ((n >> (18 - 6 * k)) & 63) as usize;
            out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
        }
    }
    out.push('-');
    units.clear();
}

/// Encodes a folder name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn rfc3501_examples_and_french() {
        assert_eq!(encode("INBOX"), "INBOX");
        assert_eq!(encode("Traitées"), "Trait&AOk-es");
        assert_eq!(encode("Factures reçues"), "Factures re&AOc-ues");
        assert_eq!(encode("A&B"), "A&-B");
        // RFC 3501's own example: ~peter/mail/台北/日本語
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
    }
}
