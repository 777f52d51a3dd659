//! Encryption at rest: the private signing keys, the client-secret pepper and upstream client
//! secrets are stored in the database only sealed (AES-256-GCM, ring) under a master key kept
//! outside the database (`TESSERA_MASTER_KEY`, or the file `keys/master.key`). A copy of the
//! database alone yields none of them.
//!
//! A sealed value is `tessera-sealed:v1:{key id}:{base64url(nonce || ciphertext || tag)}`.
//! The key id (a short hash of the master key) lets a wrong master key be named as such
//! instead of failing as "corrupt data"; the additional authenticated data binds each value
//! to its row (`label`), so a value copied into another row does not open.
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "tessera-sealed:v1:";
/// The name of the master key file in the keys directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The key-encryption key. Never printed by `Debug`.
pub struct MasterKey {
    key: LessSafeKey,
    id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the value was sealed under master key {sealed_with}, not under this one ({ours})")]
    OtherKey { sealed_with: String, ours: String },
    #[error(
        "the sealed value does not open under this master key (altered, or moved from another row)"
    )]
    Corrupt,
    #[error("not a sealed value")]
    NotSealed,
    #[error("a master key is 32 bytes in base64: {0}")]
    BadKey(String),
    #[error("the system random number generator failed")]
    Random,
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Result<MasterKey, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| SealError::BadKey("rejected by AES-256-GCM".into()))?;
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"tessera master key id\0".as_slice(), &bytes].concat(),
        );
        Ok(MasterKey {
            key: LessSafeKey::new(unbound),
            id: digest.as_ref()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            bytes,
        })
    }

    /// Parses the base64 form (standard or URL-safe, padded or not) of `TESSERA_MASTER_KEY`
    /// and of the key file.
    pub fn parse(text: &str) -> Result<MasterKey, SealError> {
        let text = text.trim();
        let decoded = STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        let bytes: [u8; 32] = decoded
            .try_into()
            .map_err(|v: Vec<u8>| SealError::BadKey(format!("got {} bytes", v.len())))?;
        MasterKey::from_bytes(bytes)
    }

    /// A new random master key.
    pub fn generate() -> Result<MasterKey, SealError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        MasterKey::from_bytes(bytes)
    }

    /// The base64 text written to the key file and accepted by `TESSERA_MASTER_KEY`.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// A short public name of this key (not secret: a hash), shown in messages.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext` for the row named `label`.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(label.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealError::Corrupt)?;
        let mut out = nonce.to_vec();
        out.extend(buffer);
        Ok(format!(
            "{PREFIX}{}:{}",
            self.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens a value sealed for `label` by [`MasterKey::seal`].
    pub fn open(&self, label: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(SealError::NotSealed)?;
        let (id, body) = rest.split_once(':').ok_or(SealError::Corrupt)?;
        if id != self.id {
            return Err(SealError::OtherKey {
                sealed_with: id.to_string(),
                ours: self.id.clone(),
            });
        }
        let mut data = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Corrupt)?;
        if data.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let mut ciphertext = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).map_err(|_| SealError::Corrupt)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut ciphertext)
            .map_err(|_| SealError::Corrupt)?;
        Ok(plain.to_vec())
    }

    pub fn open_string(&self, label: &str, sealed: &str) -> Result<String, SealError> {
        String::from_utf8(self.open(label, sealed)?).map_err(|_| SealError::Corrupt)
    }
}

/// Whether a stored value is sealed (anything else is clear text from an older version).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The id of the master key a sealed value was sealed under.
pub fn sealed_with(value: &str) -> Option<&str> {
    value
        .strip_prefix(PREFIX)?
        .split_once(':')
        .map(|(id, _)| id)
}

/// Where this instance's master key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `TESSERA_MASTER_KEY`.
    Setting,
    /// A file (by default `keys/master.key`).
    File(PathBuf),
}

impl std::fmt::Display for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeySource::Setting => f.write_str("TESSERA_MASTER_KEY"),
            MasterKeySource::File(path) => write!(f, "the file {}", path.display()),
        }
    }
}

/// Reads the master key file; `None` if it does not exist.
pub fn read_key_file(path: &Path) -> Result<Option<MasterKey>, std::io::Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::parse(&text)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a new key file with mode 0600; refuses to overwrite an existing one
/// (`ErrorKind::AlreadyExists`), so two processes starting at once cannot both write one.
pub fn write_new_key_file(path: &Path, key: &MasterKey) -> Result<(), std::io::Error> {
    crate::secrets::write_private_file(path, format!("{}\n", key.to_base64()).as_bytes())
}

/// Replaces the key file (for `keys rotate-master`): written beside it, then renamed over it,
/// so a crash leaves either the old or the new key, never half of one.
pub fn replace_key_file(path: &Path, key: &MasterKey) -> Result<(), std::io::Error> {
    let temporary = path.with_extension("key.new");
    match std::fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    write_new_key_file(&temporary, key)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_label() {
        let key = MasterKey::generate().expect("key");
        let sealed = key.seal("row a", b"secret").expect("seal");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("secret"));
        assert_eq!(key.open("row a", &sealed).expect("open"), b"secret");
        assert!(matches!(
            key.open("row b", &sealed),
            Err(SealError::Corrupt)
        ));
        let other = MasterKey::generate().expect("key");
        assert!(matches!(
            other.open("row a", &sealed),
            Err(SealError::OtherKey { .. })
        ));
        let reparsed = MasterKey::parse(&key.to_base64()).expect("parse");
        assert_eq!(reparsed.open("row a", &sealed).expect("open"), b"secret");
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert_eq!(sealed_with(&sealed), Some(key.id()));
    }
}
