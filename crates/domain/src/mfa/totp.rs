//! The TOTP rules of §9 (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew either way),
//! apart from the HMAC itself: which steps a code may match, and that a step is spent once.

use chrono::{DateTime, Utc};

use super::model::TotpFactor;
use super::ports::OtpGenerator;

/// Seconds per time step.
pub const TOTP_STEP_SECS: i64 = 30;
/// Digits of a code.
pub const TOTP_DIGITS: usize = 6;

/// The time step of `at` (T0 = 0).
pub fn step_at(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp().div_euclid(TOTP_STEP_SECS)).unwrap_or(0)
}

/// What a presented code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// It is the code of this step, later than every step used before.
    Fresh(u64),
    /// It matches a step already used: a replay.
    Replayed,
    /// It matches no step in the window.
    Wrong,
}

/// Checks `code` against the steps around `now`, comparing every candidate in full (no early
/// exit on the first differing digit). A step at or before `factor.last_used_step` is spent.
pub fn check_code(
    otp: &dyn OtpGenerator,
    factor: &TotpFactor,
    code: &str,
    now: DateTime<Utc>,
) -> TotpCheck {
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TotpCheck::Wrong;
    }
    let current = step_at(now);
    let mut matched = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = otp.totp_code(&factor.secret, step);
        if same(expected.as_bytes(), code.as_bytes()) && matched.is_none() {
            matched = Some(step);
        }
    }
    match matched {
        Some(step) if step > factor.last_used_step => TotpCheck::Fresh(step),
        Some(_) => TotpCheck::Replayed,
        None => TotpCheck::Wrong,
    }
}

/// Whether two byte strings are equal, looking at every byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` URI authenticator apps read (Key Uri Format), for `account` at `issuer`.
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret_base32}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
        percent_encode(account)
    )
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::{MockOtpGenerator, TotpSecret};

    fn factor(last_used_step: u64) -> TotpFactor {
        TotpFactor {
            secret: TotpSecret::new(vec![1; 20]),
            confirmed: true,
            last_used_step,
            created_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
        }
    }

    /// Codes are the step number, zero-padded: enough to test the window and replay rules.
    fn otp() -> MockOtpGenerator {
        let mut otp = MockOtpGenerator::new();
        otp.expect_totp_code()
            .returning(|_, step| format!("{:06}", step % 1_000_000));
        otp
    }

    #[test]
    fn a_code_matches_one_step_of_skew_either_way_and_is_spent_once() {
        let now = DateTime::from_timestamp(30 * 1000 + 7, 0).unwrap_or_default();
        assert_eq!(step_at(now), 1000);
        let otp = otp();
        assert_eq!(
            check_code(&otp, &factor(0), "001000", now),
            TotpCheck::Fresh(1000)
        );
        assert_eq!(
            check_code(&otp, &factor(0), "000999", now),
            TotpCheck::Fresh(999)
        );
        assert_eq!(
            check_code(&otp, &factor(0), " 001001 ", now),
            TotpCheck::Fresh(1001)
        );
        assert_eq!(
            check_code(&otp, &factor(0), "000998", now),
            TotpCheck::Wrong
        );
        assert_eq!(
            check_code(&otp, &factor(0), "001002", now),
            TotpCheck::Wrong
        );
        assert_eq!(
            check_code(&otp, &factor(1000), "001000", now),
            TotpCheck::Replayed
        );
        assert_eq!(
            check_code(&otp, &factor(1000), "000999", now),
            TotpCheck::Replayed
        );
        assert_eq!(
            check_code(&otp, &factor(1000), "001001", now),
            TotpCheck::Fresh(1001)
        );
        for malformed in ["", "1000", "0010000", "00100a", "００１０００"] {
            assert_eq!(
                check_code(&otp, &factor(0), malformed, now),
                TotpCheck::Wrong,
                "{malformed}"
            );
        }
    }

    #[test]
    fn the_otpauth_uri_encodes_its_parts() {
        assert_eq!(
            otpauth_uri("Key gate", "ada@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Key%20gate:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Key%20gate&algorithm=SHA1&digits=6&period=30"
        );
    }
}
