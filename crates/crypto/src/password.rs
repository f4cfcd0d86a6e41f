//! Argon2id password hashing in PHC strings, on a fixed pool of hashing threads.
//!
//! Each thread owns one Argon2 memory area and reuses it for every hash, so resident memory
//! is at most `threads × memory_kib` however many logins arrive; a thread that has hashed
//! nothing for [`IDLE_RELEASE`] gives its area back, so an idle server stays small (a fresh 19 MiB
//! allocation per hash on the blocking pool let the allocator keep gigabytes). Jobs wait in a
//! bounded queue: past `max_waiting` a request is refused at once with `Overloaded` (503 with
//! `Retry-After`) instead of holding its connection for as long as the queue takes.
//!
//! A hash that costs more than the server's own (an imported one: every legacy format, an
//! Argon2 hash above the configured parameters) is verified in a lane of its own, one thread
//! with its own queue and no area kept: eight guesses against a bcrypt of cost 14 keep that
//! thread busy for seconds, and every other login still finds the threads it had.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hash_limits::{Argon2Limit, Weight};
use crate::hashing_settings::HashingSettings;
use crate::legacy::LegacyHash;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version, ARGON2ID_IDENT};
use async_trait::async_trait;
use keygate_domain::accounts::Password;
use keygate_domain::accounts::{PasswordCheck, PasswordHasher};
use keygate_domain::{Error, Result};
use subtle::ConstantTimeEq;

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// How long a hashing thread keeps its memory area without a hash to compute. Reallocating
/// one costs a few milliseconds at the start of the next burst of logins; keeping two 19 MiB
/// areas forever would hold an idle server above 50 MiB resident.
pub const IDLE_RELEASE: Duration = Duration::from_secs(5);

/// glibc serves an allocation above 32 MiB (its largest dynamic mmap threshold) with a mapping
/// of its own, unmapped on free. A smaller one, once a chunk of its size has been freed, comes
/// from the heap and stays resident after it is freed (measured: releasing 19 MiB areas left
/// the server at 126 MiB). So an area reserves at least this many blocks of address space, of
/// which only the blocks a hash uses are ever touched, i.e. resident.
const MIN_AREA_RESERVATION: usize = (33 << 20) / std::mem::size_of::<Block>();

/// A zeroed memory area of `blocks` blocks that goes back to the OS when dropped.
fn new_area(blocks: usize) -> Vec<Block> {
    let mut area = Vec::with_capacity(blocks.max(MIN_AREA_RESERVATION));
    area.resize(blocks, Block::default());
    area
}

/// The hashing threads and their queue.
struct Pool {
    queue: Mutex<mpsc::Sender<Job>>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    areas_held: Arc<AtomicUsize>,
    /// Jobs started, and the microseconds they waited in the queue in total.
    started: Arc<AtomicU64>,
    waited_micros: Arc<AtomicU64>,
}

impl Pool {
    fn start(
        threads: usize,
        blocks: usize,
        max_waiting: usize,
        idle_release: Duration,
    ) -> Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let waiting = Arc::new(AtomicUsize::new(0));
        let areas_held = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let (receiver, waiting, areas_held) =
                (receiver.clone(), waiting.clone(), areas_held.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // Allocated at the first hash, released after `idle_release` without one.
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        // The queue is shared, so every thread waits with a timeout: the one
                        // holding the lock lets it go at least every `idle_release`, and each
                        // gets its turn to notice that it is idle.
                        let next = receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv_timeout(idle_release);
                        let job = match next {
                            Ok(job) => job,
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                if !memory.is_empty() {
                                    memory = Vec::new();
                                    areas_held.fetch_sub(1, Ordering::SeqCst);
                                }
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => return, // hasher gone
                        };
                        waiting.fetch_sub(1, Ordering::SeqCst);
                        if memory.len() < blocks {
                            if memory.is_empty() {
                                areas_held.fetch_add(1, Ordering::SeqCst);
                            }
                            memory = new_area(blocks);
                        }
                        job(&mut memory);
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self {
            queue: Mutex::new(sender),
            waiting,
            max_waiting,
            areas_held,
            started: Arc::new(AtomicU64::new(0)),
            waited_micros: Arc::new(AtomicU64::new(0)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut [Block]) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Overloaded {
                retry_after_secs: 1,
            });
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (started, waited_micros, queued_at) = (
            self.started.clone(),
            self.waited_micros.clone(),
            std::time::Instant::now(),
        );
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Box::new(move |memory: &mut [Block]| {
                let waited = u64::try_from(queued_at.elapsed().as_micros()).unwrap_or(u64::MAX);
                waited_micros.fetch_add(waited, Ordering::Relaxed);
                started.fetch_add(1, Ordering::Relaxed);
                let _ = reply.send(job(memory));
            }));
        if sent.is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Internal("the hashing threads have stopped".into()));
        }
        answer
            .await
            .map_err(|_| Error::Internal("a hashing thread dropped its job".into()))?
    }
}

/// The Argon2id adapter of the [`PasswordHasher`] port.
#[derive(Clone)]
pub struct Argon2Hasher {
    params: Params,
    pool: Arc<Pool>,
    /// The lane of hashes costlier than the server's own: one thread, no area kept.
    costly: Arc<Pool>,
    dummy_hash: Arc<str>,
    /// The costliest stored hash verified; a costlier one matches nothing.
    limit: Argon2Limit,
}

impl Argon2Hasher {
    /// A hasher with these settings and its threads; fails if the parameters are out of
    /// Argon2's range.
    pub fn new(settings: HashingSettings) -> Result<Self> {
        Self::with_idle_release(settings, IDLE_RELEASE)
    }

    fn with_idle_release(settings: HashingSettings, idle_release: Duration) -> Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| Error::Internal(format!("invalid Argon2 parameters: {e}")))?;
        let mut memory = new_area(params.block_count());
        let dummy_hash = hash_with(
            &params,
            &mut memory,
            "keygate dummy password for unknown accounts",
        )?;
        drop(memory);
        let pool = Pool::start(
            settings.max_concurrent,
            params.block_count(),
            settings.max_waiting,
            idle_release,
        )?;
        let costly = Pool::start(1, 0, settings.max_waiting, idle_release)?;
        Ok(Self {
            params,
            pool: Arc::new(pool),
            costly: Arc::new(costly),
            dummy_hash: dummy_hash.into(),
            limit: Argon2Limit::of(&settings),
        })
    }

    /// A wrong password, answered after the dummy verification, for a stored hash that is
    /// not verified (unusable, or past the limit).
    async fn wrong_after_dummy(&self, password: &str) -> Result<PasswordCheck> {
        self.verify_dummy(password).await?;
        Ok(PasswordCheck {
            matches: false,
            needs_rehash: false,
        })
    }

    /// How many hashing jobs are waiting for a thread right now (for metrics).
    pub fn waiting(&self) -> usize {
        self.pool.waiting.load(Ordering::SeqCst) + self.costly.waiting.load(Ordering::SeqCst)
    }

    /// Hashes started since start-up, and how long they waited for a thread in total.
    pub fn queue_wait_totals(&self) -> (u64, Duration) {
        (
            self.pool.started.load(Ordering::Relaxed),
            Duration::from_micros(self.pool.waited_micros.load(Ordering::Relaxed)),
        )
    }

    /// How many hashing threads hold a memory area right now (for metrics and tests).
    pub fn areas_held(&self) -> usize {
        self.pool.areas_held.load(Ordering::SeqCst)
    }
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("{what}: {error}"))
}

/// A PHC string for `password` with a fresh salt, computed in `memory`.
fn hash_with(params: &Params, memory: &mut [Block], password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed("salt", e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2(params.clone())
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, &mut *memory)
        .map_err(|e| failed("hashing failed", e))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed("parameters", e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed("output", e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, computed in `memory` when it is large
/// enough for the hash's own parameters (a legacy hash may need a temporary area).
fn verify_with(
    params: &Params,
    memory: &mut [Block],
    password: &str,
    phc: &str,
) -> Result<PasswordCheck> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| failed("stored password hash is unreadable", e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm)
        .map_err(|e| failed("stored password hash has an unknown algorithm", e))?;
    let stored = Params::try_from(&parsed).map_err(|e| failed("stored hash parameters", e))?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .map_err(|e| failed("stored hash version", e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(Error::Internal(
            "stored password hash lacks salt or hash".into(),
        ));
    };
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed("stored salt", e))?;
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version, stored.clone());
    let mut temporary;
    let area: &mut [Block] = if memory.len() >= stored.block_count() {
        memory
    } else {
        temporary = new_area(stored.block_count());
        &mut temporary
    };
    hasher
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, area)
        .map_err(|e| failed("verification failed", e))?;
    let matches = bool::from(out.as_slice().ct_eq(expected.as_bytes()));
    let outdated = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || stored.m_cost() != params.m_cost()
        || stored.t_cost() != params.t_cost()
        || stored.p_cost() != params.p_cost();
    Ok(PasswordCheck {
        matches,
        needs_rehash: matches && outdated,
    })
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<String> {
        let (password, params) = (password.expose().to_owned(), self.params.clone());
        self.pool
            .run(move |memory| hash_with(&params, memory, &password))
            .await
    }

    async fn verify(&self, password: &str, hash: &str) -> Result<PasswordCheck> {
        let (password, hash, params) = (password.to_owned(), hash.to_owned(), self.params.clone());
        if !hash.starts_with("$argon2") {
            // An imported account's hash (§10): checked in the costly lane and replaced by
            // Argon2id once it matched. One in no usable format matches nothing, after a dummy
            // Argon2 verification so it answers as slowly as any other.
            return match LegacyHash::parse(&hash) {
                Ok(legacy) => {
                    self.costly
                        .run(move |_| {
                            Ok(PasswordCheck {
                                matches: legacy.verify(&password),
                                needs_rehash: true,
                            })
                        })
                        .await
                }
                Err(_) => self.wrong_after_dummy(&password).await,
            };
        }
        // A stored hash past the limit (it may come from anywhere) is never computed with its
        // own parameters: it answers as a wrong password, after the dummy verification that
        // makes it as slow as one.
        // A costly one has no area of its own: `verify_with` takes a temporary one, freed at once.
        let lane = match self.limit.admits(&hash) {
            Ok(Weight::Ordinary) => &self.pool,
            Ok(Weight::Costly) => &self.costly,
            Err(_) => return self.wrong_after_dummy(&password).await,
        };
        lane.run(move |memory| verify_with(&params, memory, &password, &hash))
            .await
    }

    async fn verify_dummy(&self, password: &str) -> Result<()> {
        let (password, hash, params) = (
            password.to_owned(),
            self.dummy_hash.clone(),
            self.params.clone(),
        );
        self.pool
            .run(move |memory| verify_with(&params, memory, &password, &hash).map(|_| ()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashingSettings {
        HashingSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
            max_waiting: 64,
        }
    }

    #[tokio::test]
    async fn memory_areas_are_released_when_idle_and_taken_again_on_demand() {
        let idle = Duration::from_millis(50);
        let hasher = Argon2Hasher::with_idle_release(cheap(), idle).expect("hasher");
        assert_eq!(
            hasher.areas_held(),
            0,
            "nothing allocated before the first hash"
        );
        hasher.hash(&password("correct horse")).await.expect("hash");
        assert_eq!(hasher.areas_held(), 1);
        let released = async {
            while hasher.areas_held() > 0 {
                tokio::time::sleep(idle).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), released)
            .await
            .expect("the idle thread gave its area back");
        let hash = hasher.hash(&password("correct horse")).await.expect("hash");
        assert!(
            hasher
                .verify("correct horse", &hash)
                .await
                .expect("verified")
                .matches
        );
    }

    /// The PHC string of `text` under these Argon2id parameters, as another system made it.
    fn phc_of(text: &str, memory_kib: u32, passes: u32, lanes: u32) -> String {
        let params = Params::new(memory_kib, passes, lanes, None).expect("parameters");
        let mut memory = new_area(params.block_count());
        hash_with(&params, &mut memory, text).expect("hash")
    }

    /// A stored hash costlier than the limit matches nothing, the right password included:
    /// its own memory and passes are never spent (issue 31, holes 2 and 3). The limit is
    /// four times the larger of the server's and OWASP's parameters.
    #[tokio::test]
    async fn stored_argon2_hashes_past_the_limit_match_nothing() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        let right = "correct horse";
        let within = phc_of(right, 19 * 1024, 2, 1);
        assert!(
            hasher
                .verify(right, &within)
                .await
                .expect("verified")
                .matches
        );
        for (what, memory_kib, passes, lanes) in [
            ("memory", 4 * 19 * 1024 + 8, 1, 1),
            ("work", 19 * 1024, 9, 1),
            ("lanes", 19 * 1024, 1, 5),
        ] {
            let costly = phc_of(right, memory_kib, passes, lanes);
            let check = hasher.verify(right, &costly).await.expect("answered");
            assert!(!check.matches, "a hash past the {what} bound matched");
            assert!(!check.needs_rehash);
        }
        let inspector = crate::LegacyHashes::new(&cheap());
        use keygate_domain::import::{HashInspector, HashVerdict};
        assert_eq!(inspector.inspect(&within), HashVerdict::Argon2);
        let costly = phc_of(right, 19 * 1024, 9, 1);
        assert!(
            matches!(inspector.inspect(&costly), HashVerdict::Refused(_)),
            "an import takes no hash a login would not verify"
        );
    }

    fn password(text: &str) -> Password {
        Password::new(text, "password").expect("valid password")
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_phc_strings_that_verify() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        let first = hasher.hash(&password("correct horse")).await.expect("hash");
        let second = hasher.hash(&password("correct horse")).await.expect("hash");
        assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        let good = hasher
            .verify("correct horse", &first)
            .await
            .expect("verify");
        assert_eq!(
            good,
            PasswordCheck {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = hasher.verify("wrong horse", &first).await.expect("verify");
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn owasp_defaults_are_the_default() {
        let defaults = HashingSettings::default();
        assert_eq!(
            (
                defaults.memory_kib,
                defaults.iterations,
                defaults.parallelism
            ),
            (19456, 2, 1)
        );
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_are_flagged_for_upgrade() {
        let old = Argon2Hasher::new(cheap()).expect("hasher");
        let hash = old.hash(&password("correct horse")).await.expect("hash");
        let stronger = Argon2Hasher::new(HashingSettings {
            memory_kib: 128,
            ..cheap()
        })
        .expect("hasher");
        let check = stronger
            .verify("correct horse", &hash)
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                matches: true,
                needs_rehash: true
            }
        );
        let wrong = stronger.verify("wrong horse", &hash).await.expect("verify");
        assert_eq!(
            wrong,
            PasswordCheck {
                matches: false,
                needs_rehash: false
            }
        );
    }

    /// Guesses against imported hashes that cost more than the server's own wait in a lane of
    /// their own: a login against one of the server's hashes, asked for after three of them,
    /// is answered while they still run, on a server with a single hashing thread (issue 31).
    #[tokio::test]
    async fn costlier_imported_hashes_never_hold_the_threads_of_ordinary_logins() {
        let hasher = Argon2Hasher::new(HashingSettings {
            max_concurrent: 1,
            ..cheap()
        })
        .expect("hasher");
        let own = hasher.hash(&password("correct horse")).await.expect("hash");
        let slow = "pbkdf2:sha256:400000$salt$00000000000000000000000000000000000000000000000000000000000000ff";
        let done = Arc::new(AtomicUsize::new(0));
        let guesses: Vec<_> = (0..3)
            .map(|_| {
                let (hasher, done) = (hasher.clone(), done.clone());
                tokio::spawn(async move {
                    let check = hasher.verify("guess", slow).await.expect("answered");
                    done.fetch_add(1, Ordering::SeqCst);
                    check
                })
            })
            .collect();
        while hasher.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        let ordinary = hasher.verify("correct horse", &own).await.expect("verify");
        assert!(ordinary.matches);
        assert!(
            done.load(Ordering::SeqCst) <= 1,
            "the ordinary login waited for {} costly guesses",
            done.load(Ordering::SeqCst)
        );
        for guess in guesses {
            assert!(!guess.await.expect("joined").matches);
        }
        // An Argon2 hash above the server's parameters but within the limit verifies in that
        // lane too, in a temporary area: no thread keeps one of its size.
        let costly = phc_of("correct horse", 1024, 2, 1);
        let check = hasher
            .verify("correct horse", &costly)
            .await
            .expect("verify");
        assert!(check.matches && check.needs_rehash);
        assert!(hasher.areas_held() <= 1);
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(64, 1, 1, None).expect("params");
        let phc = argon2(params)
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        assert!(
            hasher
                .verify("correct horse", &phc)
                .await
                .expect("verify")
                .matches
        );
        assert!(
            !hasher
                .verify("correct horsf", &phc)
                .await
                .expect("verify")
                .matches
        );
    }

    #[tokio::test]
    async fn the_queue_refuses_work_beyond_its_bound() {
        let hasher = Argon2Hasher::new(HashingSettings {
            memory_kib: 8 * 1024,
            iterations: 3,
            max_concurrent: 1,
            max_waiting: 2,
            ..cheap()
        })
        .expect("hasher");
        let jobs: Vec<_> = (0..12)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.verify_dummy("guess").await })
            })
            .collect();
        let mut refused = 0;
        for job in jobs {
            match job.await.expect("joined") {
                Ok(()) => {}
                Err(Error::Overloaded { retry_after_secs }) => {
                    assert!(retry_after_secs >= 1);
                    refused += 1;
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(refused >= 1, "nothing was refused");
        assert!(
            12 - refused >= 2,
            "{refused} refused: at least the two that may wait pass"
        );
        assert_eq!(hasher.waiting(), 0);
    }

    #[tokio::test]
    async fn imported_hashes_verify_on_the_pool_and_ask_to_be_replaced() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        let werkzeug = "pbkdf2:sha256:1000$wkVSFYsRzISnMq0v$1d6ce69b732baab62f34905899cbce7276146ebedcc3a0aeb7c0058b0dc22465";
        let right = hasher
            .verify("correct horse ünïcode", werkzeug)
            .await
            .expect("answered");
        assert!(right.matches && right.needs_rehash);
        let wrong = hasher.verify("wrong", werkzeug).await.expect("answered");
        assert!(!wrong.matches);
    }

    #[tokio::test]
    async fn unknown_hashes_match_nothing_and_dummy_verification_works() {
        let hasher = Argon2Hasher::new(cheap()).expect("hasher");
        // §10: an imported hash in no known format leaves the account without a password.
        for unknown in ["not a phc string", "", "md5$x$y"] {
            let check = hasher.verify("x", unknown).await.expect("answered");
            assert!(!check.matches && !check.needs_rehash, "{unknown}");
        }
        // A broken Argon2 string is still the store's fault.
        assert!(matches!(
            hasher.verify("x", "$argon2id$garbage").await,
            Err(Error::Internal(_))
        ));
        hasher
            .verify_dummy("anything")
            .await
            .expect("dummy verification");
    }
}
