//! Password hashing with argon2id (OWASP parameters), bounded and off the async runtime.
use std::sync::{Arc, OnceLock};

use std::cell::RefCell;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
use tokio::sync::Semaphore;

use crate::secrets::Secret;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A real hash of a random password, verified against when the username is unknown so the
/// response time does not reveal which accounts exist.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        argon2()
            .hash_password(crate::secrets::random_token(16).as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs argon2 on a few dedicated threads (one per core by default), at most that many at a
/// time, so a login flood queues here instead of starving the async runtime. Dedicated
/// threads also bound memory: each keeps one 19 MiB argon2 work area for every verification
/// it runs (see [`verify_blocking`]), so hashing memory is threads × 19 MiB from the first
/// login on, instead of a fresh allocation (and 4,864 page faults) per login, which under a
/// flood left freed blocks waiting for the allocator's delayed purge (peak 91 → 65 MB).
/// Freeing the areas when idle was tried: mimalloc returns freed memory to the system only
/// on a later allocation, so an idle server kept it anyway.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl Passwords {
    pub fn new(concurrency: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let workers = concurrency.unwrap_or(cores).max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(workers);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..workers {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Passwords {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
        }
    }

    /// Runs `work` on a hashing thread, waiting for a free one.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|e| HashError(e.to_string()))?;
        result.await.map_err(|e| HashError(e.to_string()))
    }

    pub async fn hash(&self, password: Secret) -> Result<String, HashError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// True only if `hash` is present and matches. With no hash (unknown user, federated-only
    /// account), a dummy hash is checked so the time taken is the same.
    pub async fn verify(&self, hash: Option<String>, password: Secret) -> bool {
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
            verify_blocking(password.expose().as_bytes(), &hash) && known
        })
        .await
        .unwrap_or(false)
    }
}

/// Hashes synchronously (the CLI, which has no runtime to protect).
pub fn hash_blocking(password: &Secret) -> Result<String, HashError> {
    argon2()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

thread_local! {
    /// This thread's argon2 work area, kept between verifications.
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC-format argon2 hash — the algorithm, version, parameters
/// and salt are the hash's own — computing in this thread's kept work area, which is zeroed
/// afterwards (the first blocks would otherwise let a memory dump test password guesses
/// cheaply). The comparison is constant-time. False for anything unparsable.
pub fn verify_blocking(password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = WORK_AREA.with(|area| {
        let mut area = area.borrow_mut();
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        let result = argon2.hash_password_into_with_memory(
            password,
            salt,
            &mut computed,
            &mut area[..blocks],
        );
        area.fill(Block::default());
        result
    });
    use subtle::ConstantTimeEq;
    hashed.is_ok() && bool::from(computed.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_its_own_hashes_and_nothing_else() {
        let hash = hash_blocking(&Secret("correct horse".into())).expect("hash");
        assert!(verify_blocking(b"correct horse", &hash));
        assert!(
            verify_blocking(b"correct horse", &hash),
            "the kept work area is reusable"
        );
        assert!(!verify_blocking(b"correct horsE", &hash));
        assert!(!verify_blocking(b"correct horse", "not a hash"));
        assert!(!verify_blocking(
            b"correct horse",
            &hash.replace("argon2id", "argon2i")
        ));
        // Another parameter set (the hash says which): the work area grows to fit it.
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(24 * 1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw")
        .expect("hash")
        .to_string();
        assert!(verify_blocking(b"pw", &bigger));
        assert!(!verify_blocking(b"pW", &bigger));
    }
}
