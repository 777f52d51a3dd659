//! Password hashing with argon2id (OWASP parameters), bounded and off the async runtime.
use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
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

/// Runs argon2 on the blocking pool, at most `concurrency` at a time, so a login flood
/// queues here instead of starving the runtime or the machine's memory.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl Passwords {
    pub fn new(concurrency: Option<usize>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency.unwrap_or(cores).max(1))),
        }
    }

    pub async fn hash(&self, password: Secret) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }

    /// True only if `hash` is present and matches. With no hash (unknown user, federated-only
    /// account), a dummy hash is checked so the time taken is the same.
    pub async fn verify(&self, hash: Option<String>, password: Secret) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
            let ok = argon2()
                .verify_password(password.expose().as_bytes(), hash.as_str())
                .is_ok();
            ok && known
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
