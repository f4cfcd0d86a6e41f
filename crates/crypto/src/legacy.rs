//! Password hashes of the earlier systems (§10), checked once at an imported user's next login
//! and then replaced by Argon2id: werkzeug `pbkdf2:<sha256|sha1>:<N>$salt$hex` and
//! `scrypt:<N>:<r>:<p>$salt$hex`, bcrypt `$2a$`/`$2b$`/`$2y$`, passlib `$pbkdf2-sha256$`, Django
//! `pbkdf2_sha256$`. A cost past what a login may spend (a PBKDF2 of 10⁹ rounds, an scrypt of
//! gigabytes) is refused when the hash is read, at import, never at login.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine};
use ring::pbkdf2;
use subtle::ConstantTimeEq;

use crate::hash_limits::{Argon2Limit, MAX_HASH_BYTES};
use crate::hashing_settings::HashingSettings;

/// The most PBKDF2 rounds a login may spend (Django's 2025 default is 1 200 000).
pub const MAX_PBKDF2_ROUNDS: u32 = 2_000_000;
/// The most memory one scrypt verification may use: werkzeug's default (N=32768, r=8) is 32 MiB.
pub const MAX_SCRYPT_BYTES: u64 = 64 * 1024 * 1024;
/// The highest bcrypt cost (2^14 rounds, about a second here).
pub const MAX_BCRYPT_COST: u32 = 14;
/// The output werkzeug's scrypt stores (hashlib's default `dklen`).
const SCRYPT_OUTPUT_BYTES: usize = 64;

/// Which earlier system's format a hash is in (the import report counts by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegacyFormat {
    /// werkzeug `pbkdf2:sha256:N$salt$hex`.
    WerkzeugPbkdf2Sha256,
    /// werkzeug `pbkdf2:sha1:N$salt$hex`.
    WerkzeugPbkdf2Sha1,
    /// werkzeug `scrypt:N:r:p$salt$hex`.
    WerkzeugScrypt,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`; flask-bcrypt too).
    Bcrypt,
    /// passlib `$pbkdf2-sha256$rounds$salt$checksum`.
    PasslibPbkdf2Sha256,
    /// Django `pbkdf2_sha256$rounds$salt$base64`.
    DjangoPbkdf2Sha256,
}

impl LegacyFormat {
    /// The format's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::WerkzeugPbkdf2Sha256 => "werkzeug-pbkdf2-sha256",
            Self::WerkzeugPbkdf2Sha1 => "werkzeug-pbkdf2-sha1",
            Self::WerkzeugScrypt => "werkzeug-scrypt",
            Self::Bcrypt => "bcrypt",
            Self::PasslibPbkdf2Sha256 => "passlib-pbkdf2-sha256",
            Self::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
        }
    }
}

/// Why a hash cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnusableHash {
    /// In no format Keygate knows.
    #[error("not a password hash format Keygate knows")]
    UnknownFormat,
    /// Known, but malformed.
    #[error("malformed {0} hash")]
    Malformed(&'static str),
    /// Known, but costing more than a login may spend.
    #[error("{0}")]
    TooCostly(String),
}

/// A parsed legacy hash, ready to check a password against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyHash {
    format: LegacyFormat,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Pbkdf2 {
        algorithm: Pbkdf2Digest,
        rounds: NonZeroU32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Bcrypt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pbkdf2Digest {
    Sha1,
    Sha256,
}

impl Pbkdf2Digest {
    fn ring(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        }
    }

    /// The output every format here stores: one block, the digest's own length. Each block
    /// more would cost all the rounds again.
    fn output_bytes(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

/// `expected` as a PBKDF2 output of `digest`: refused unless it is the one block the format
/// produces (a stored output of 48 blocks would cost 48 times the rounds per attempt).
fn one_block(
    expected: Vec<u8>,
    digest: Pbkdf2Digest,
    what: &'static str,
) -> Result<Vec<u8>, UnusableHash> {
    if expected.len() == digest.output_bytes() {
        Ok(expected)
    } else if expected.len() > digest.output_bytes() {
        Err(UnusableHash::TooCostly(format!(
            "{what} hash with a {}-byte output ({} bytes is the format's)",
            expected.len(),
            digest.output_bytes()
        )))
    } else {
        Err(UnusableHash::Malformed(what))
    }
}

/// Standard base64 with or without padding.
const UNPADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// passlib's "adapted base64": standard base64 with `.` for `+`, no padding.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    UNPADDED.decode(text.replace('.', "+")).ok()
}

fn rounds(text: &str, what: &'static str) -> Result<NonZeroU32, UnusableHash> {
    let rounds: u32 = text.parse().map_err(|_| UnusableHash::Malformed(what))?;
    if rounds > MAX_PBKDF2_ROUNDS {
        return Err(UnusableHash::TooCostly(format!(
            "{what} hash with {rounds} rounds (at most {MAX_PBKDF2_ROUNDS})"
        )));
    }
    NonZeroU32::new(rounds).ok_or(UnusableHash::Malformed(what))
}

impl LegacyHash {
    /// Reads `hash`, checking its cost; `UnknownFormat` for an Argon2 PHC string (Keygate's
    /// own) as for anything else it does not know.
    pub fn parse(hash: &str) -> Result<Self, UnusableHash> {
        if hash.len() > MAX_HASH_BYTES {
            return Err(UnusableHash::TooCostly(format!(
                "stored hash of {} bytes (at most {MAX_HASH_BYTES})",
                hash.len()
            )));
        }
        if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
            let cost: u32 = hash
                .get(4..6)
                .and_then(|c| c.parse().ok())
                .ok_or(UnusableHash::Malformed("bcrypt"))?;
            if cost > MAX_BCRYPT_COST {
                return Err(UnusableHash::TooCostly(format!(
                    "bcrypt hash of cost {cost} (at most {MAX_BCRYPT_COST})"
                )));
            }
            if hash.len() != 60 {
                return Err(UnusableHash::Malformed("bcrypt"));
            }
            return Ok(Self {
                format: LegacyFormat::Bcrypt,
                kind: Kind::Bcrypt(hash.to_owned()),
            });
        }
        if let Some(rest) = hash.strip_prefix("$pbkdf2-sha256$") {
            let what = "passlib pbkdf2-sha256";
            let mut parts = rest.split('$');
            let (Some(n), Some(salt), Some(checksum), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(UnusableHash::Malformed(what));
            };
            return Ok(Self {
                format: LegacyFormat::PasslibPbkdf2Sha256,
                kind: Kind::Pbkdf2 {
                    algorithm: Pbkdf2Digest::Sha256,
                    rounds: rounds(n, what)?,
                    salt: ab64_decode(salt).ok_or(UnusableHash::Malformed(what))?,
                    expected: one_block(
                        ab64_decode(checksum).ok_or(UnusableHash::Malformed(what))?,
                        Pbkdf2Digest::Sha256,
                        what,
                    )?,
                },
            });
        }
        if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
            let what = "Django pbkdf2_sha256";
            let mut parts = rest.splitn(3, '$');
            let (Some(n), Some(salt), Some(encoded)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(UnusableHash::Malformed(what));
            };
            return Ok(Self {
                format: LegacyFormat::DjangoPbkdf2Sha256,
                kind: Kind::Pbkdf2 {
                    algorithm: Pbkdf2Digest::Sha256,
                    rounds: rounds(n, what)?,
                    salt: salt.as_bytes().to_vec(),
                    expected: one_block(
                        STANDARD
                            .decode(encoded)
                            .map_err(|_| UnusableHash::Malformed(what))?,
                        Pbkdf2Digest::Sha256,
                        what,
                    )?,
                },
            });
        }
        // werkzeug: `<method>$<salt>$<hex>`.
        let mut parts = hash.splitn(3, '$');
        let (Some(method), Some(salt), Some(hex_hash)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(UnusableHash::UnknownFormat);
        };
        let method: Vec<&str> = method.split(':').collect();
        match method.as_slice() {
            ["pbkdf2", digest, n] => {
                let (algorithm, format, what) = match *digest {
                    "sha256" => (
                        Pbkdf2Digest::Sha256,
                        LegacyFormat::WerkzeugPbkdf2Sha256,
                        "werkzeug pbkdf2:sha256",
                    ),
                    "sha1" => (
                        Pbkdf2Digest::Sha1,
                        LegacyFormat::WerkzeugPbkdf2Sha1,
                        "werkzeug pbkdf2:sha1",
                    ),
                    _ => return Err(UnusableHash::UnknownFormat),
                };
                Ok(Self {
                    format,
                    kind: Kind::Pbkdf2 {
                        algorithm,
                        rounds: rounds(n, what)?,
                        salt: salt.as_bytes().to_vec(),
                        expected: one_block(
                            hex::decode(hex_hash).map_err(|_| UnusableHash::Malformed(what))?,
                            algorithm,
                            what,
                        )?,
                    },
                })
            }
            ["scrypt", n, r, p] => {
                let what = "werkzeug scrypt";
                let parse = |t: &str| t.parse::<u64>().map_err(|_| UnusableHash::Malformed(what));
                let (n, r, p) = (parse(n)?, parse(r)?, parse(p)?);
                if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
                    return Err(UnusableHash::Malformed(what));
                }
                let bytes = 128u64.saturating_mul(n).saturating_mul(r).saturating_mul(p);
                if bytes > MAX_SCRYPT_BYTES || r > 64 || p > 16 {
                    return Err(UnusableHash::TooCostly(format!(
                        "werkzeug scrypt hash needing {} MiB (at most {} MiB)",
                        bytes / (1024 * 1024),
                        MAX_SCRYPT_BYTES / (1024 * 1024)
                    )));
                }
                let expected = hex::decode(hex_hash).map_err(|_| UnusableHash::Malformed(what))?;
                if expected.len() != SCRYPT_OUTPUT_BYTES {
                    return Err(UnusableHash::Malformed(what));
                }
                Ok(Self {
                    format: LegacyFormat::WerkzeugScrypt,
                    kind: Kind::Scrypt {
                        log_n: u8::try_from(n.trailing_zeros())
                            .map_err(|_| UnusableHash::Malformed(what))?,
                        r: u32::try_from(r).map_err(|_| UnusableHash::Malformed(what))?,
                        p: u32::try_from(p).map_err(|_| UnusableHash::Malformed(what))?,
                        salt: salt.as_bytes().to_vec(),
                        expected,
                    },
                })
            }
            _ => Err(UnusableHash::UnknownFormat),
        }
    }

    /// The format it is in.
    pub fn format(&self) -> LegacyFormat {
        self.format
    }

    /// Whether `password` matches, compared in constant time. Blocking work: run it on the
    /// hashing pool.
    pub fn verify(&self, password: &str) -> bool {
        match &self.kind {
            Kind::Pbkdf2 {
                algorithm,
                rounds,
                salt,
                expected,
            } => pbkdf2::verify(
                algorithm.ring(),
                *rounds,
                salt,
                password.as_bytes(),
                expected,
            )
            .is_ok(),
            Kind::Scrypt {
                log_n,
                r,
                p,
                salt,
                expected,
            } => {
                let Ok(params) = scrypt::Params::new(*log_n, *r, *p, expected.len()) else {
                    return false;
                };
                let mut out = vec![0u8; expected.len()];
                scrypt::scrypt(password.as_bytes(), salt, &params, &mut out).is_ok()
                    && bool::from(out.ct_eq(expected))
            }
            Kind::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests;

/// The crypto adapter of the import's [`HashInspector`](keygate_domain::import::HashInspector):
/// a hash is refused at import when a login could not verify it, an Argon2 one past the
/// server's [`Argon2Limit`] included.
#[derive(Debug, Clone, Copy)]
pub struct LegacyHashes {
    argon2: Argon2Limit,
}

impl LegacyHashes {
    /// The inspector of a server hashing with `settings`.
    pub fn new(settings: &HashingSettings) -> Self {
        Self {
            argon2: Argon2Limit::of(settings),
        }
    }
}

impl keygate_domain::import::HashInspector for LegacyHashes {
    fn inspect(&self, hash: &str) -> keygate_domain::import::HashVerdict {
        use keygate_domain::import::HashVerdict;
        // A hash over MAX_HASH_BYTES is refused whatever it is: by the Argon2 limit, or by
        // `LegacyHash::parse` before it looks at the format.
        if hash.starts_with("$argon2") {
            return match self.argon2.admits(hash) {
                Ok(_) => HashVerdict::Argon2,
                Err(why) => HashVerdict::Refused(why),
            };
        }
        match LegacyHash::parse(hash) {
            Ok(legacy) => HashVerdict::Usable(legacy.format().name()),
            Err(UnusableHash::TooCostly(why)) => HashVerdict::Refused(why),
            Err(_) => HashVerdict::Unknown,
        }
    }
}
