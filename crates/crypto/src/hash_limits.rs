//! The costliest stored hash Keygate reads: [`MAX_HASH_BYTES`] for every format, and
//! [`Argon2Limit`] for Argon2, the costliest Argon2 hash Keygate verifies. A stored hash carries its own parameters, and a
//! row can come from anywhere (an import, a restored backup): verifying `m=1048576` allocates a
//! GiB, `t=3000000` holds a hashing thread for seconds. Past a small factor of the server's own
//! parameters a hash is refused at import and answered as a wrong password at login.

use argon2::password_hash::PasswordHash;
use argon2::Params;

use crate::hashing_settings::HashingSettings;

/// The longest stored hash read at all: every format Keygate reads fits in about 200 bytes, and
/// a longer row (a salt or output of megabytes) is refused before any of it is parsed.
pub const MAX_HASH_BYTES: usize = 512;

/// How far a stored hash may exceed the base parameters, in memory, in work (memory × passes)
/// and in lanes.
pub const ARGON2_FACTOR: u64 = 4;
/// OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane): the base is never below it, so
/// a server configured cheaper (a test rig) still verifies the hashes a default server made.
const OWASP_MEMORY_KIB: u64 = 19 * 1024;
const OWASP_PASSES: u64 = 2;

/// The bounds a stored Argon2 hash must keep to be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Limit {
    max_memory_kib: u64,
    max_work: u64,
    max_lanes: u64,
    /// What the server's own hashes cost: a stored hash above it is [`Weight::Costly`].
    base_memory_kib: u64,
    base_work: u64,
}

/// What verifying an admitted hash costs next to one of the server's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// No more memory or work than a hash the server makes itself.
    Ordinary,
    /// More (an imported hash within the bound): verified in the costly lane, so it never
    /// holds a thread the server's own logins need.
    Costly,
}

impl Argon2Limit {
    /// [`ARGON2_FACTOR`] times the larger of `settings` and OWASP's parameters: with the
    /// defaults, 76 MiB, 4 × (19 MiB × 2 passes) of work and 4 lanes.
    pub fn of(settings: &HashingSettings) -> Self {
        let memory = u64::from(settings.memory_kib).max(OWASP_MEMORY_KIB);
        let passes = u64::from(settings.iterations).max(OWASP_PASSES);
        let lanes = u64::from(settings.parallelism).max(1);
        Self {
            max_memory_kib: ARGON2_FACTOR * memory,
            max_work: ARGON2_FACTOR * memory * passes,
            max_lanes: ARGON2_FACTOR * lanes,
            base_memory_kib: u64::from(settings.memory_kib),
            base_work: u64::from(settings.memory_kib) * u64::from(settings.iterations),
        }
    }

    /// Whether the PHC string `phc` is within the bounds, and what verifying it weighs; why
    /// not, otherwise (an unreadable string is refused too). Reads the parameters only:
    /// nothing is allocated or hashed.
    pub fn admits(&self, phc: &str) -> Result<Weight, String> {
        if phc.len() > MAX_HASH_BYTES {
            return Err(format!(
                "stored Argon2 hash of {} bytes (at most {})",
                phc.len(),
                MAX_HASH_BYTES
            ));
        }
        let parsed = PasswordHash::new(phc).map_err(|e| format!("unreadable Argon2 hash: {e}"))?;
        let params =
            Params::try_from(&parsed).map_err(|e| format!("unusable Argon2 parameters: {e}"))?;
        let (memory, passes, lanes) = (
            u64::from(params.m_cost()),
            u64::from(params.t_cost()),
            u64::from(params.p_cost()),
        );
        if memory > self.max_memory_kib {
            return Err(format!(
                "Argon2 hash of {memory} KiB (at most {} KiB)",
                self.max_memory_kib
            ));
        }
        if memory * passes > self.max_work {
            return Err(format!(
                "Argon2 hash of {passes} passes over {memory} KiB (at most {} KiB-passes)",
                self.max_work
            ));
        }
        if lanes > self.max_lanes {
            return Err(format!(
                "Argon2 hash of {lanes} lanes (at most {})",
                self.max_lanes
            ));
        }
        if memory > self.base_memory_kib || memory * passes > self.base_work {
            Ok(Weight::Costly)
        } else {
            Ok(Weight::Ordinary)
        }
    }
}
