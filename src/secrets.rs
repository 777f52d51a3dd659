//! Random values, hashes of stored tokens, and the constant-time secret check.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// A value that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    /// For settings that hold a secret (`TESSERA_MASTER_KEY`).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_string()))
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `bytes` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails if the OS has no entropy source, which we cannot run without.
    if SystemRandom::new().fill(&mut buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// A token's id (`jti`): 16 random bytes, base64url. The id is unique and unguessable but
/// no secret (it is printed in the token it names), so it comes from rand's `ThreadRng` — a
/// ChaCha generator per thread, seeded and reseeded from the OS — which needs no system call
/// per token, where [`random_token`] makes one; every issued token pays for this, the
/// secrets (codes, refresh tokens, client secrets) keep the OS generator.
pub fn token_id() -> String {
    let mut buf = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random id (16 bytes, base64url) that never starts with '-': ids of clients and users are
/// typed on command lines (`--client-id ID`, `--user ID`), where a leading '-' reads as a flag.
pub fn random_id() -> String {
    loop {
        let id = random_token(16);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
}

/// SHA-256 of a bearer value (code, refresh token), as stored in the database. These values
/// carry 256 bits of entropy, so a fast unsalted hash cannot be reversed.
pub fn token_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        value.as_bytes(),
    ))
}

/// Keyed hash of a generated client secret (HMAC-SHA256 under the server's pepper): a stolen
/// database alone yields neither the secret nor a way to test guesses, and checking costs
/// microseconds instead of a password hash.
pub fn client_secret_hash(key: &ClientSecretKey, secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key.0, secret.as_bytes()))
}

/// The key of [`client_secret_hash`], made once from the pepper: making an HMAC key hashes
/// it, which cost every client authentication a quarter of its HMAC.
pub struct ClientSecretKey(ring::hmac::Key);

impl ClientSecretKey {
    pub fn new(pepper: &[u8]) -> ClientSecretKey {
        ClientSecretKey(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pepper))
    }
}

/// Constant-time equality of two strings (length is not secret).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Left half of SHA-256, base64url: `at_hash` and `c_hash` for RS256 and ES256.
pub fn left_half_hash(value: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// A key for one purpose derived from the server's pepper (HMAC-SHA256 of `label` under it),
/// so no two uses of the pepper share a key.
pub fn derived_key(pepper: &[u8], label: &str) -> ring::hmac::Key {
    let parent = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, pepper);
    let derived = ring::hmac::sign(&parent, label.as_bytes());
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
}

/// Writes a new file readable by its owner only (mode 0600), refusing to overwrite one
/// (`ErrorKind::AlreadyExists`), e.g. one another process just made.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_ids_never_start_with_a_hyphen() {
        // One plain token in 64 starts with '-': 2,000 draws would show one almost surely.
        for _ in 0..2000 {
            let id = super::random_id();
            assert_eq!(id.len(), 22);
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn token_ids_are_distinct_on_every_thread() {
        // Each thread has its own generator: ids drawn on several must not repeat either.
        let draw = || (0..2000).map(|_| super::token_id()).collect::<Vec<_>>();
        let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(draw)).collect();
        let mut ids = std::collections::HashSet::new();
        for thread in threads {
            for id in thread.join().unwrap_or_default() {
                assert_eq!(id.len(), 22, "{id}");
                assert!(ids.insert(id), "an id repeated");
            }
        }
        assert_eq!(ids.len(), 8000);
    }
}
