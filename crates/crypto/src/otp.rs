//! TOTP (RFC 6238) over ring's HMAC, and recovery codes from the OS random generator.

use keygate_domain::mfa::{OtpGenerator, TotpSecret, TOTP_DIGITS};
use keygate_domain::{Error, Result};
use ring::hmac;

/// The HMAC a TOTP code is computed with. §9 uses SHA-1; the others are RFC 6238's too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpHash {
    /// HMAC-SHA-1 (what authenticator apps use).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// RFC 4226's dynamically truncated code of `key` for `counter`, `digits` long.
pub fn hotp(hash: TotpHash, key: &[u8], counter: u64, digits: u32) -> String {
    let algorithm = match hash {
        TotpHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        TotpHash::Sha256 => hmac::HMAC_SHA256,
        TotpHash::Sha512 => hmac::HMAC_SHA512,
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, key), &counter.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let modulus = 10u64.pow(digits);
    format!(
        "{:0width$}",
        u64::from(binary) % modulus,
        width = digits as usize
    )
}

/// The OS-random, ring-HMAC adapter of the [`OtpGenerator`] port.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsOtp;

/// 160-bit TOTP secrets (RFC 4226 §4's recommendation).
const SECRET_BYTES: usize = 20;
/// Lower-case base32: what recovery codes are written in (no 0/1/8/9 to misread).
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn random(bytes: &mut [u8]) -> Result<()> {
    getrandom::fill(bytes).map_err(|e| Error::Internal(format!("OS random generator failed: {e}")))
}

impl OtpGenerator for OsOtp {
    fn new_totp_secret(&self) -> Result<TotpSecret> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        random(&mut bytes)?;
        Ok(TotpSecret::new(bytes))
    }

    fn totp_code(&self, secret: &TotpSecret, step: u64) -> String {
        hotp(TotpHash::Sha1, secret.bytes(), step, TOTP_DIGITS as u32)
    }

    fn new_recovery_code(&self) -> Result<String> {
        let mut bytes = [0u8; 16];
        random(&mut bytes)?;
        // 16 characters of 5 bits each: 80 bits, in groups of four.
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
            .collect();
        Ok(chars
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: every test vector, each hash with its own seed.
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let sha1 = b"12345678901234567890".as_slice();
        let sha256 = b"12345678901234567890123456789012".as_slice();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".as_slice();
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, by_sha1, by_sha256, by_sha512) in vectors {
            let step = time / 30;
            assert_eq!(
                hotp(TotpHash::Sha1, sha1, step, 8),
                by_sha1,
                "SHA-1 at {time}"
            );
            assert_eq!(
                hotp(TotpHash::Sha256, sha256, step, 8),
                by_sha256,
                "SHA-256 at {time}"
            );
            assert_eq!(
                hotp(TotpHash::Sha512, sha512, step, 8),
                by_sha512,
                "SHA-512 at {time}"
            );
        }
    }

    #[test]
    fn the_port_gives_six_digit_sha1_codes_and_fresh_secrets_and_recovery_codes() {
        let secret = TotpSecret::new(b"12345678901234567890".to_vec());
        // The last six digits of the 8-digit SHA-1 vector at T = 59.
        assert_eq!(OsOtp.totp_code(&secret, 1), "287082");
        let a = OsOtp.new_totp_secret().expect("a secret");
        assert_eq!(a.bytes().len(), 20);
        assert_ne!(a, OsOtp.new_totp_secret().expect("a secret"));
        let code = OsOtp.new_recovery_code().expect("a code");
        assert_eq!(code.len(), 19, "{code}");
        assert!(code
            .split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))));
        assert_ne!(code, OsOtp.new_recovery_code().expect("a code"));
    }
}
