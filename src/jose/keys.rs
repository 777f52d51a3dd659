//! The server's keys in memory: the signing keys of every published state (see
//! `jose::key_lifecycle`), the JWKS document, the client-secret pepper and the refresh-token
//! MAC key. The database holds them, sealed under the master key (`jose::master_key`); every
//! instance polls a version and swaps in the new set when it changes (`Keys::start_watch`).
//!
//! Hot path: a signature or a verification loads the current set with one atomic read
//! (`arc_swap`), with no lock and no database read; a reload builds the new set beside the old
//! one and swaps a pointer.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{JwsSigner, JwsVerifier, ES256, RS256};
use sea_orm::DatabaseConnection;

use super::ring_jws::{Es256Signer, Es256Verifier};
use crate::clock::SharedClock;
use crate::config::{Settings, StoreSettings};
use crate::sealing::{MasterKey, MasterKeySource, SealError};
use crate::storage::signing_keys::{self as store, SigningKeyRow};
use crate::storage::versions;
use crate::types::SigningAlg;

/// How often every instance reads the keys version.
pub const POLL: Duration = Duration::from_millis(200);
/// How long the CLI waits after a change so that every running instance has polled it.
pub const VISIBLE_AFTER: Duration = Duration::from_millis(600);

/// Everything the server signs and verifies with.
pub struct Keys {
    /// The server's pepper, from which the keys below are made.
    pub client_secret_pepper: Vec<u8>,
    /// Key of the client-secret HMAC (see `secrets::client_secret_hash`): the pepper itself.
    pub client_secret_key: crate::secrets::ClientSecretKey,
    /// Key of the refresh-token MAC (see `oauth::refresh_token_format`), derived from the pepper.
    pub refresh_token_key: ring::hmac::Key,
    /// Key of the API-key hash (see `apikeys::hash`), derived from the pepper.
    pub api_key_key: ring::hmac::Key,
    signing: ArcSwap<SigningKeys>,
    master: ArcSwap<MasterKey>,
    master_source: MasterKeySource,
}

/// The published signing keys at one moment: immutable, replaced whole.
pub struct SigningKeys {
    rs256: Arc<ActiveKey>,
    es256: Arc<ActiveKey>,
    published: Vec<PublishedKey>,
    /// The `jwks_uri` document, serialized once per set.
    pub jwks_json: bytes::Bytes,
    /// A strong entity tag of `jwks_json` (RFC 9110 §8.8.3), quotes included.
    pub jwks_etag: String,
    /// The keys version this set was read at.
    version: Option<String>,
}

/// The key that signs for one algorithm.
pub struct ActiveKey {
    pub kid: String,
    signer: Signer,
}

enum Signer {
    Rs(RsassaJwsSigner),
    Es(Es256Signer),
}

enum Verifier {
    Rs(RsassaJwsVerifier),
    Es(Es256Verifier),
}

/// A key in the JWKS, with what the watcher needs to decide about promotion and rotation.
pub struct PublishedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: String,
    pub activate_at: Option<i64>,
    pub activated_at: Option<i64>,
    pub rotation_started_at: Option<i64>,
    verifier: Verifier,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    // Not `source`: the cause is part of this one line, not printed again below it.
    #[error("cannot use {path}: {cause}. Make the keys directory (TESSERA_KEYS_DIR) readable and writable by this user, or set TESSERA_MASTER_KEY instead of keeping the master key in a file")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("key {what}: {message}")]
    Invalid { what: String, message: String },
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The one message an operator needs when the master key does not match the database.
    #[error("{0}")]
    MasterKey(String),
    #[error("sealing: {0}")]
    Seal(#[from] SealError),
}

/// A private key as generated or stored: PEM, with its kid.
pub struct KeyMaterial {
    pub alg: SigningAlg,
    pub kid: String,
    pub pem: Vec<u8>,
}

impl Keys {
    /// Loads the deployment's keys from the database (generating and storing them on the very
    /// first start, sealing what an older version left in clear), checking the master key
    /// first: an instance with the wrong one fails here with a message saying what to do,
    /// and never mints keys of its own. The server and the CLI both use this.
    pub async fn load_shared(
        db: &DatabaseConnection,
        settings: &StoreSettings,
        now: i64,
    ) -> Result<Keys, KeyError> {
        let (master, source) = super::master_key::resolve(db, settings).await?;
        super::master_key::seal_legacy(db, &master, &settings.keys_dir, now).await?;
        let pepper = super::master_key::pepper(db, &master, now).await?;
        super::key_lifecycle::ensure_active(db, &master, now).await?;
        let set = SigningKeys::load(db, &master).await?;
        Ok(Keys::assemble(pepper, set, master, source))
    }

    /// Keys in `dir`, generated (in clear, mode 0600) where missing: for benchmarks and unit
    /// tests only, never the server.
    pub fn load_or_generate(dir: &Path) -> Result<Keys, KeyError> {
        std::fs::create_dir_all(dir).map_err(|cause| KeyError::Io {
            path: dir.into(),
            cause,
        })?;
        let mut published = Vec::new();
        for (alg, file) in [
            (SigningAlg::Rs256, "rs256-private.pem"),
            (SigningAlg::Es256, "es256-private.pem"),
        ] {
            let path = dir.join(file);
            let pem = match std::fs::read(&path) {
                Ok(pem) => pem,
                Err(_) => {
                    let material = generate(alg)?;
                    crate::secrets::write_private_file(&path, &material.pem)
                        .map_err(|cause| KeyError::Io { path, cause })?;
                    material.pem
                }
            };
            published.push((material_from_pem(alg, &pem)?, store::ACTIVE.to_string()));
        }
        let set = SigningKeys::build(
            published
                .into_iter()
                .map(|(m, state)| (m, state, None, Some(0), None))
                .collect(),
            None,
        )?;
        let pepper = crate::secrets::random_token(32).into_bytes();
        Ok(Keys::assemble(
            pepper,
            set,
            MasterKey::generate()?,
            MasterKeySource::Setting,
        ))
    }

    fn assemble(
        pepper: Vec<u8>,
        set: SigningKeys,
        master: MasterKey,
        source: MasterKeySource,
    ) -> Keys {
        Keys {
            refresh_token_key: crate::secrets::derived_key(&pepper, "tessera refresh-token v1"),
            api_key_key: crate::secrets::derived_key(&pepper, "tessera api-key v1"),
            client_secret_key: crate::secrets::ClientSecretKey::new(&pepper),
            client_secret_pepper: pepper,
            signing: ArcSwap::from_pointee(set),
            master: ArcSwap::from_pointee(master),
            master_source: source,
        }
    }

    /// The current signing keys (one atomic load; hold it only for the operation at hand).
    pub fn signing(&self) -> Guard<Arc<SigningKeys>> {
        self.signing.load()
    }

    /// The master key this instance seals and opens with.
    pub fn master(&self) -> Arc<MasterKey> {
        self.master.load_full()
    }

    /// Re-reads the signing keys if the keys version changed since the set was loaded.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<bool, KeyError> {
        let version = versions::get(db, versions::KEYS).await?;
        if version == self.signing.load().version {
            return Ok(false);
        }
        let set = match SigningKeys::load(db, &self.master.load()).await {
            Err(KeyError::Seal(SealError::OtherKey { .. })) => {
                // `keys rotate-master` ran elsewhere: the new key may be in our file already.
                let MasterKeySource::File(path) = &self.master_source else {
                    return Err(KeyError::MasterKey(
                        "the keys in the database are sealed under another master key than TESSERA_MASTER_KEY (was `tessera keys rotate-master` run?): set the new key and restart; meanwhile this instance keeps the keys it has".to_string()));
                };
                let fresh = crate::sealing::read_key_file(path)
                    .map_err(|cause| KeyError::Io {
                        path: path.clone(),
                        cause,
                    })?
                    .ok_or_else(|| KeyError::MasterKey(format!("{} is missing", path.display())))?;
                let set = SigningKeys::load(db, &fresh).await?;
                tracing::info!(master_key = fresh.id(), "picked up the new master key");
                self.master.store(Arc::new(fresh));
                set
            }
            other => other?,
        };
        self.signing.store(Arc::new(set));
        Ok(true)
    }

    /// Keeps this instance's keys current until `self` is dropped: polls the keys version
    /// every `POLL`, promotes `next` keys whose time has come and, with
    /// `TESSERA_KEY_ROTATION_DAYS`, starts rotations (each exactly once across instances:
    /// conditional updates decide).
    pub fn start_watch(
        self: &Arc<Self>,
        db: DatabaseConnection,
        clock: SharedClock,
        settings: Arc<Settings>,
        audit: crate::audit::Audit,
    ) {
        let weak: Weak<Keys> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(POLL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned = false;
            loop {
                interval.tick().await;
                let Some(keys) = weak.upgrade() else { return };
                let result = async {
                    keys.refresh(&db)
                        .await
                        .map_err(super::key_lifecycle::LifecycleError::from)?;
                    super::key_lifecycle::scheduled(&db, &keys, &settings, &audit, clock.now())
                        .await
                }
                .await;
                match result {
                    Ok(()) => warned = false,
                    Err(e) if !warned => {
                        warned = true;
                        tracing::warn!(error = %e, "cannot refresh the signing keys; keeping the current ones");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

impl SigningKeys {
    /// Reads and opens the published keys.
    pub async fn load(
        db: &DatabaseConnection,
        master: &MasterKey,
    ) -> Result<SigningKeys, KeyError> {
        // The version first: a change after this read shows as a newer version next poll.
        let version = versions::get(db, versions::KEYS).await?;
        let rows = store::published(db).await?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let material = open_row(master, &row)?;
            keys.push((
                material,
                row.state,
                row.activate_at,
                row.activated_at,
                row.rotation_started_at,
            ));
        }
        SigningKeys::build(keys, version)
    }

    #[allow(clippy::type_complexity)]
    fn build(
        mut keys: Vec<(KeyMaterial, String, Option<i64>, Option<i64>, Option<i64>)>,
        version: Option<String>,
    ) -> Result<SigningKeys, KeyError> {
        // RS256 before ES256, then oldest first: a stable JWKS order.
        keys.sort_by_key(|(m, ..)| m.alg == SigningAlg::Es256);
        let mut rs256 = None;
        let mut es256 = None;
        let mut published = Vec::new();
        let mut jwks = Vec::new();
        for (material, state, activate_at, activated_at, rotation_started_at) in keys {
            let invalid = |e: josekit::JoseError| KeyError::Invalid {
                what: material.kid.clone(),
                message: e.to_string(),
            };
            let (public, verifier) = match material.alg {
                SigningAlg::Rs256 => {
                    let pair = RS256.key_pair_from_pem(&material.pem).map_err(invalid)?;
                    let public = pair.to_jwk_public_key();
                    let verifier = RS256.verifier_from_jwk(&public).map_err(invalid)?;
                    if state == store::ACTIVE {
                        let mut signer = RS256.signer_from_pem(&material.pem).map_err(invalid)?;
                        signer.set_key_id(&material.kid);
                        rs256 = Some(Arc::new(ActiveKey {
                            kid: material.kid.clone(),
                            signer: Signer::Rs(signer),
                        }));
                    }
                    (public, Verifier::Rs(verifier))
                }
                SigningAlg::Es256 => {
                    let pair = ES256.key_pair_from_pem(&material.pem).map_err(invalid)?;
                    let verifier = Es256Verifier::new(&pair, &material.kid).map_err(invalid)?;
                    if state == store::ACTIVE {
                        es256 = Some(Arc::new(ActiveKey {
                            kid: material.kid.clone(),
                            signer: Signer::Es(
                                Es256Signer::new(&pair, &material.kid).map_err(invalid)?,
                            ),
                        }));
                    }
                    (pair.to_jwk_public_key(), Verifier::Es(verifier))
                }
            };
            jwks.push(public_jwk(&public, &material.kid, material.alg.as_str()));
            published.push(PublishedKey {
                kid: material.kid,
                alg: material.alg,
                state,
                activate_at,
                activated_at,
                rotation_started_at,
                verifier,
            });
        }
        let missing = |alg: &str| KeyError::Invalid {
            what: alg.to_string(),
            message: "no active key in the database".into(),
        };
        let jwks_json = serde_json::json!({ "keys": jwks }).to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, jwks_json.as_bytes());
        Ok(SigningKeys {
            rs256: rs256.ok_or_else(|| missing("RS256"))?,
            es256: es256.ok_or_else(|| missing("ES256"))?,
            published,
            jwks_etag: format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])),
            jwks_json: bytes::Bytes::from(jwks_json),
            version,
        })
    }

    /// The key that signs for `alg`.
    pub fn active(&self, alg: SigningAlg) -> &ActiveKey {
        match alg {
            SigningAlg::Rs256 => &self.rs256,
            SigningAlg::Es256 => &self.es256,
        }
    }

    /// The verifier of the published key `kid` of algorithm `alg` (next, active or
    /// retiring); None once it is retired.
    pub fn verifier(&self, alg: SigningAlg, kid: &str) -> Option<&dyn JwsVerifier> {
        self.published
            .iter()
            .find(|k| k.alg == alg && k.kid == kid)
            .map(|k| match &k.verifier {
                Verifier::Rs(v) => v as &dyn JwsVerifier,
                Verifier::Es(v) => v as &dyn JwsVerifier,
            })
    }

    pub fn published(&self) -> &[PublishedKey] {
        &self.published
    }
}

impl ActiveKey {
    pub fn signer(&self) -> &dyn JwsSigner {
        match &self.signer {
            Signer::Rs(s) => s,
            Signer::Es(s) => s,
        }
    }
}

/// The `max-age` of the JWKS: at most five minutes, and at most half the publish-ahead time,
/// so every resource server has re-read the JWKS (and learnt a `next` key) before it signs.
pub fn jwks_max_age(publish_ahead_seconds: i64) -> i64 {
    (publish_ahead_seconds / 2).clamp(0, 300)
}

/// A new key pair for `alg`.
pub fn generate(alg: SigningAlg) -> Result<KeyMaterial, KeyError> {
    let pem = match alg {
        SigningAlg::Rs256 => RS256
            .generate_key_pair(2048)
            .map(|k| k.to_pem_private_key()),
        SigningAlg::Es256 => ES256.generate_key_pair().map(|k| k.to_pem_private_key()),
    }
    .map_err(|e| KeyError::Invalid {
        what: alg.as_str().into(),
        message: e.to_string(),
    })?;
    material_from_pem(alg, &pem)
}

/// Parses a PEM private key and computes its kid.
pub fn material_from_pem(alg: SigningAlg, pem: &[u8]) -> Result<KeyMaterial, KeyError> {
    let invalid = |e: josekit::JoseError| KeyError::Invalid {
        what: alg.as_str().into(),
        message: e.to_string(),
    };
    let kid = match alg {
        SigningAlg::Rs256 => thumbprint(
            &RS256
                .key_pair_from_pem(pem)
                .map_err(invalid)?
                .to_jwk_public_key(),
            &["e", "kty", "n"],
        ),
        SigningAlg::Es256 => thumbprint(
            &ES256
                .key_pair_from_pem(pem)
                .map_err(invalid)?
                .to_jwk_public_key(),
            &["crv", "kty", "x", "y"],
        ),
    };
    Ok(KeyMaterial {
        alg,
        kid,
        pem: pem.to_vec(),
    })
}

/// The additional authenticated data of a signing key's sealed private key.
pub fn seal_label(kid: &str) -> String {
    format!("signing_keys/{kid}")
}

fn open_row(master: &MasterKey, row: &SigningKeyRow) -> Result<KeyMaterial, KeyError> {
    let alg = SigningAlg::parse(&row.alg).ok_or_else(|| KeyError::Invalid {
        what: row.kid.clone(),
        message: format!("unknown algorithm {}", row.alg),
    })?;
    let pem = master.open(&seal_label(&row.kid), &row.private_key)?;
    let material = material_from_pem(alg, &pem)?;
    if material.kid != row.kid {
        return Err(KeyError::Invalid {
            what: row.kid.clone(),
            message: "the stored key does not match its kid".into(),
        });
    }
    Ok(material)
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
