//! What `auth.hashing.*` configures.

/// Argon2id cost parameters, how many hashes may run at once and how many may wait
/// (`auth.hashing.*`; a key left out keeps its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct HashingSettings {
    /// Memory per hash in KiB (OWASP: 19 456, i.e. 19 MiB).
    pub memory_kib: u32,
    /// Passes over memory (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
    /// Hashing threads: hashes that run at the same time (default: one per core).
    #[serde(deserialize_with = "keygate_domain::units::at_least_one")]
    pub max_concurrent: usize,
    /// Hashes that may wait for a thread; one more is refused with `Overloaded`.
    pub max_waiting: usize,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(2, usize::from),
            max_waiting: 64,
        }
    }
}
