//! Signing keys: generated into the keys directory on first start, loaded on every later one.
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{ES256, RS256};

use sea_orm::DatabaseConnection;

use super::ring_jws::{Es256Signer, Es256Verifier};
use crate::storage;
use crate::types::SigningAlg;

const RSA_FILE: &str = "rs256-private.pem";
const EC_FILE: &str = "es256-private.pem";
const PEPPER_FILE: &str = "client-secret-pepper";

/// Everything the server signs with, plus the pre-serialized JWKS document.
pub struct Keys {
    pub rs256: RsaKey,
    pub es256: EcKey,
    /// The `jwks_uri` document, serialized once.
    pub jwks_json: bytes::Bytes,
    /// Key of the client-secret HMAC (see `secrets::client_secret_hash`).
    pub client_secret_pepper: Vec<u8>,
    /// Key of the refresh-token MAC (see `oauth::refresh_token_format`), derived from the pepper.
    pub refresh_token_key: ring::hmac::Key,
}

pub struct RsaKey {
    pub kid: String,
    pub signer: RsassaJwsSigner,
    pub verifier: RsassaJwsVerifier,
}

pub struct EcKey {
    pub kid: String,
    pub signer: Es256Signer,
    pub verifier: Es256Verifier,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Keys {
    /// Loads the keys in `dir`, generating (and writing, mode 0600) any that are missing.
    /// For tools and benchmarks; the server and the CLI use [`Keys::load_shared`].
    pub fn load_or_generate(dir: &Path) -> Result<Keys, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.into(),
            source,
        })?;
        let rsa_pem = read_or_create(&dir.join(RSA_FILE), generate_rsa)?;
        let ec_pem = read_or_create(&dir.join(EC_FILE), generate_ec)?;
        let pepper = read_or_create(&dir.join(PEPPER_FILE), generate_pepper)?;
        Keys::from_material(dir, &rsa_pem, &ec_pem, &pepper)
    }

    /// The database holds the key material every instance and the CLI must share; the keys
    /// directory holds a local copy. On the first start of all, the directory's keys (or new
    /// ones) are stored; later starts — of this or any other instance — use the stored ones
    /// and refresh the directory's copy.
    pub async fn load_shared(
        db: &DatabaseConnection,
        dir: &Path,
        now: i64,
    ) -> Result<Keys, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.into(),
            source,
        })?;
        let rsa_pem = shared(db, dir, RSA_FILE, generate_rsa, now).await?;
        let ec_pem = shared(db, dir, EC_FILE, generate_ec, now).await?;
        let pepper = shared(db, dir, PEPPER_FILE, generate_pepper, now).await?;
        Keys::from_material(dir, &rsa_pem, &ec_pem, &pepper)
    }

    fn from_material(
        dir: &Path,
        rsa_pem: &[u8],
        ec_pem: &[u8],
        pepper_b64: &[u8],
    ) -> Result<Keys, KeyError> {
        let invalid = |file: &str, e: &dyn std::fmt::Display| KeyError::Invalid {
            path: dir.join(file),
            message: e.to_string(),
        };
        let client_secret_pepper = URL_SAFE_NO_PAD
            .decode(String::from_utf8_lossy(pepper_b64).trim())
            .map_err(|e| invalid(PEPPER_FILE, &e))?;

        let rsa_pair = RS256
            .key_pair_from_pem(rsa_pem)
            .map_err(|e| invalid(RSA_FILE, &e))?;
        let rsa_public = rsa_pair.to_jwk_public_key();
        let rsa_kid = thumbprint(&rsa_public, &["e", "kty", "n"]);
        let mut rs256 = RsaKey {
            signer: RS256
                .signer_from_pem(rsa_pem)
                .map_err(|e| invalid(RSA_FILE, &e))?,
            verifier: RS256
                .verifier_from_jwk(&rsa_public)
                .map_err(|e| invalid(RSA_FILE, &e))?,
            kid: rsa_kid.clone(),
        };
        rs256.signer.set_key_id(&rsa_kid);

        let ec_pair = ES256
            .key_pair_from_pem(ec_pem)
            .map_err(|e| invalid(EC_FILE, &e))?;
        let ec_public = ec_pair.to_jwk_public_key();
        let ec_kid = thumbprint(&ec_public, &["crv", "kty", "x", "y"]);
        let es256 = EcKey {
            signer: Es256Signer::new(&ec_pair, &ec_kid).map_err(|e| invalid(EC_FILE, &e))?,
            verifier: Es256Verifier::new(&ec_pair, &ec_kid).map_err(|e| invalid(EC_FILE, &e))?,
            kid: ec_kid.clone(),
        };

        let jwks = serde_json::json!({ "keys": [
            public_jwk(&rsa_public, &rsa_kid, "RS256"),
            public_jwk(&ec_public, &ec_kid, "ES256"),
        ]});
        Ok(Keys {
            rs256,
            es256,
            jwks_json: bytes::Bytes::from(jwks.to_string()),
            refresh_token_key: crate::secrets::derived_key(
                &client_secret_pepper,
                "tessera refresh-token v1",
            ),
            client_secret_pepper,
        })
    }

    pub fn kid(&self, alg: SigningAlg) -> &str {
        match alg {
            SigningAlg::Rs256 => &self.rs256.kid,
            SigningAlg::Es256 => &self.es256.kid,
        }
    }
}

/// Public members only, with `kid`, `use` and `alg`.
fn public_jwk(public: &Jwk, kid: &str, alg: &str) -> serde_json::Value {
    let mut map: serde_json::Map<String, serde_json::Value> = public.as_ref().clone();
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        map.remove(private);
    }
    map.insert("kid".into(), kid.into());
    map.insert("use".into(), "sig".into());
    map.insert("alg".into(), alg.into());
    serde_json::Value::Object(map)
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(public: &Jwk, members: &[&str]) -> String {
    let canonical: std::collections::BTreeMap<&str, &serde_json::Value> = members
        .iter()
        .filter_map(|m| public.parameter(m).map(|v| (*m, v)))
        .collect();
    let json = serde_json::to_string(&canonical).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, json.as_bytes()))
}

fn generate_rsa() -> Result<Vec<u8>, josekit::JoseError> {
    RS256
        .generate_key_pair(2048)
        .map(|k| k.to_pem_private_key())
}

fn generate_ec() -> Result<Vec<u8>, josekit::JoseError> {
    ES256.generate_key_pair().map(|k| k.to_pem_private_key())
}

fn generate_pepper() -> Result<Vec<u8>, josekit::JoseError> {
    Ok(crate::secrets::random_token(32).into_bytes())
}

/// One piece of shared key material: the database's if it has one, else the directory's
/// (or a new one) stored for everyone; the directory's copy is refreshed to match.
async fn shared(
    db: &DatabaseConnection,
    dir: &Path,
    file: &str,
    generate: fn() -> Result<Vec<u8>, josekit::JoseError>,
    now: i64,
) -> Result<Vec<u8>, KeyError> {
    let path = dir.join(file);
    let db_err = |e: sea_orm::DbErr| KeyError::Invalid {
        path: path.clone(),
        message: format!("database: {e}"),
    };
    let local = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    let stored = match storage::server_keys::get(db, file).await.map_err(db_err)? {
        Some(stored) => stored,
        None => {
            let material = match &local {
                Some(bytes) => bytes.clone(),
                None => generate().map_err(|e| KeyError::Invalid {
                    path: path.clone(),
                    message: e.to_string(),
                })?,
            };
            let text = String::from_utf8(material).map_err(|e| KeyError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
            storage::server_keys::insert_if_absent(db, file, &text, now)
                .await
                .map_err(db_err)?
        }
    };
    let stored = stored.into_bytes();
    if local.as_deref() != Some(stored.as_slice()) {
        if local.is_some() {
            tracing::warn!(path = %path.display(), "the keys directory differs from the database; using the database's key");
            std::fs::remove_file(&path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
        } else {
            tracing::info!(path = %path.display(), "wrote the key to the keys directory");
        }
        write_private(&path, &stored)?;
    }
    Ok(stored)
}

fn read_or_create(
    path: &Path,
    generate: impl FnOnce() -> Result<Vec<u8>, josekit::JoseError>,
) -> Result<Vec<u8>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => return Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(KeyError::Io {
                path: path.into(),
                source,
            })
        }
    }
    let bytes = generate().map_err(|e| KeyError::Invalid {
        path: path.into(),
        message: e.to_string(),
    })?;
    write_private(path, &bytes)?;
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(bytes)
}

/// Writes a private file with mode 0600, refusing to overwrite one another process just made.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}
