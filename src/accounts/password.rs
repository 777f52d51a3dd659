//! Password hashing with argon2id (OWASP parameters), bounded and off the async runtime.
use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};

use super::hash_threads::{Busy, HashError, HashThreads};
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

/// Password hashing on [`HashThreads`] (one per core by default). Each thread computes in
/// one kept 19 MiB argon2 work area (see [`verify_blocking`]), so a login flood costs
/// threads × 19 MiB instead of a fresh allocation and 4,864 page faults per login, which
/// left freed blocks waiting for the allocator's delayed purge (flood peak 91 → 68 MB); the
/// areas go when the threads go idle.
#[derive(Clone)]
pub struct Passwords {
    threads: HashThreads,
}

/// How long a hashing thread waits for work before giving its work area back (and as long
/// again before it exits).
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

impl Passwords {
    /// `concurrency` hashes at once (default: one per core), `queue` logins waiting.
    pub fn new(concurrency: Option<usize>, queue: usize) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Passwords {
            threads: HashThreads::new(concurrency.unwrap_or(cores), queue, IDLE, release_work_area),
        }
    }

    /// Hashing requests waiting for a thread, and hashes being computed now.
    pub fn load(&self) -> (usize, usize) {
        (self.threads.waiting(), self.threads.busy())
    }

    pub async fn hash(&self, password: Secret) -> Result<String, HashError> {
        self.threads.run(move || hash_blocking(&password)).await?
    }

    /// True only if `hash` is present and matches. With no hash (unknown user, federated-only
    /// account), a dummy hash is checked so the time taken is the same. [`Busy`] when the
    /// hashing queue is full: nothing was checked.
    pub async fn verify(&self, hash: Option<String>, password: Secret) -> Result<bool, Busy> {
        Ok(self
            .threads
            .try_run(move || {
                let known = hash.is_some();
                let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
                verify_blocking(password.expose().as_bytes(), &hash) && known
            })
            .await?
            .unwrap_or(false))
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

/// Frees this thread's work area; true if it had one.
fn release_work_area() -> bool {
    WORK_AREA.with(|area| !std::mem::take(&mut *area.borrow_mut()).is_empty())
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
