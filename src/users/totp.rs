//! Two-factor sign-in: time-based one-time codes (RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps, the form every authenticator app reads from an `otpauth://` QR code) and recovery
//! codes for a lost phone. A code is accepted one step either side of now (clock drift), and
//! never twice: the store keeps the last step used. Recovery codes are shown once and kept only
//! as SHA-256 hashes; each works once.

use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::approval::token::same_secret;

/// Seconds per step.
const STEP: u64 = 30;
/// Bytes of a secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A shared TOTP secret. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        let mut b = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut b);
        TotpSecret(b)
    }

    /// From its base32 form (as stored and as typed into an app by hand).
    pub fn from_base32(s: &str) -> Result<TotpSecret, String> {
        Secret::Encoded(s.trim().replace(' ', "").to_ascii_uppercase())
            .to_bytes()
            .ok()
            .filter(|b| b.len() >= 16)
            .map(TotpSecret)
            .ok_or_else(|| "the stored TOTP secret is not base32 of 128 bits or more".into())
    }

    pub fn to_base32(&self) -> String {
        Secret::Raw(self.0.clone()).to_encoded().to_string()
    }

    fn totp(&self, account: &str) -> Result<TOTP, String> {
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            STEP,
            self.0.clone(),
            Some("facteur".into()),
            account.to_string(),
        )
        .map_err(|e| format!("TOTP: {e}"))
    }

    /// The `otpauth://` URI an authenticator app enrols from (what the QR code holds).
    pub fn uri(&self, account: &str) -> Result<String, String> {
        Ok(self.totp(account)?.get_url())
    }

    /// The code of the step holding `unix` seconds.
    pub fn code_at(&self, unix: u64) -> Result<String, String> {
        Ok(self.totp("-")?.generate(unix))
    }

    /// The step `code` belongs to, if it is the code of the step of `unix` or of one either
    /// side, and later than `last_used` (a code works once).
    pub fn check(&self, code: &str, unix: u64, last_used: Option<i64>) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let now = (unix / STEP) as i64;
        [now - 1, now, now + 1].into_iter().find(|&step| {
            step >= 0
                && last_used.is_none_or(|l| step > l)
                && self
                    .code_at(step as u64 * STEP)
                    .is_ok_and(|c| same_secret(&c, &code))
        })
    }
}

/// The QR code of `uri`, as an SVG for the enrolment page.
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// The QR code of `uri` drawn with block characters, for `facteur users totp` in a terminal.
pub fn qr_text(uri: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

/// Fresh recovery codes, `xxxxx-xxxxx` in lower-case base32 (50 bits each).
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut b = [0u8; 7];
            rand::rngs::OsRng.fill_bytes(&mut b);
            let s = Secret::Raw(b.to_vec()).to_encoded().to_string();
            let s = s.to_ascii_lowercase();
            format!("{}-{}", &s[..5], &s[5..10])
        })
        .collect()
}

/// The hash a recovery code is kept as; spacing, dashes and case do not matter.
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, secret "12345678901234567890", codes cut to 6 digits: an
    /// independent check of the library and our use of it.
    #[test]
    fn rfc_6238_vectors() {
        let s = TotpSecret(b"12345678901234567890".to_vec());
        for (t, want) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(s.code_at(t).unwrap(), want, "t = {t}");
        }
    }

    #[test]
    fn a_code_works_once_and_one_step_either_side() {
        let s = TotpSecret::generate();
        let t = 1_700_000_015;
        let code = s.code_at(t).unwrap();
        let step = s.check(&code, t, None).expect("now");
        assert_eq!(s.check(&code, t, Some(step)), None, "a replay");
        assert!(s.check(&code, t + 30, None).is_some(), "drift of one step");
        assert_eq!(s.check(&code, t + 90, None), None, "three steps later");
        assert_eq!(s.check("12345", t, None), None);
        let again = TotpSecret::from_base32(&s.to_base32()).unwrap();
        assert_eq!(again, s);
        assert_eq!(format!("{s:?}"), "TotpSecret(…)");
        let uri = s.uri("daf@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/facteur:daf%40example.com?secret="),
            "{uri}"
        );
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_loosely() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut set = codes.clone();
        set.sort();
        set.dedup();
        assert_eq!(set.len(), RECOVERY_CODES);
        assert!(codes[0].len() == 11 && codes[0].as_bytes()[5] == b'-');
        assert_eq!(
            recovery_hash(&codes[0]),
            recovery_hash(&codes[0].to_uppercase().replace('-', " "))
        );
    }
}
