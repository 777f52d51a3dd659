//! The deployment's master key: where it comes from, the check that it is the one the
//! database was sealed under (before anything is generated), sealing what an older version
//! stored in clear, and `tessera keys rotate-master`.
//!
//! Sealed under it: the private signing keys (`signing_keys`), the client-secret pepper
//! (`server_keys`) and the upstream client secrets (`upstreams`). It never enters the
//! database.
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::keys::{material_from_pem, seal_label, KeyError};
use crate::config::StoreSettings;
use crate::sealing::{self, MasterKey, MasterKeySource, MASTER_KEY_FILE};
use crate::storage::{server_keys, signing_keys, upstreams, versions};
use crate::types::SigningAlg;

/// The `server_keys` purpose of the client-secret pepper (as the previous version named it).
pub const PEPPER: &str = "client-secret-pepper";
/// What the previous version stored in clear, in `server_keys` and in the keys directory.
const LEGACY_KEYS: [(SigningAlg, &str); 2] = [
    (SigningAlg::Rs256, "rs256-private.pem"),
    (SigningAlg::Es256, "es256-private.pem"),
];

pub fn pepper_label() -> String {
    format!("server_keys/{PEPPER}")
}

pub fn upstream_label(name: &str) -> String {
    format!("upstreams/{name}")
}

/// The master key file of `settings`.
pub fn key_file(settings: &StoreSettings) -> std::path::PathBuf {
    settings.keys_dir.join(MASTER_KEY_FILE)
}

/// Where this instance's master key comes from: `TESSERA_MASTER_KEY` if set, else the file.
pub fn source(settings: &StoreSettings) -> MasterKeySource {
    match settings.master_key {
        Some(_) => MasterKeySource::Setting,
        None => MasterKeySource::File(key_file(settings)),
    }
}

/// This instance's master key, checked against the database: if anything in it is sealed,
/// the key must be the one it was sealed under, or this fails with a message saying what
/// to do. A new key is generated (into the key file, mode 0600) only when nothing is sealed
/// yet: the first start of a deployment, or of an upgrade from a clear-text version.
pub async fn resolve(
    db: &DatabaseConnection,
    settings: &StoreSettings,
) -> Result<(MasterKey, MasterKeySource), KeyError> {
    let source = source(settings);
    let configured = match (&settings.master_key, &source) {
        (Some(text), _) => Some(MasterKey::parse(text.expose()).map_err(|e| {
            KeyError::MasterKey(format!(
                "TESSERA_MASTER_KEY is not a master key ({e}). It is 32 random bytes in base64, \
                 e.g. from `head -c 32 /dev/urandom | base64`; every instance of a deployment needs the same one."
            ))
        })?),
        (None, MasterKeySource::File(path)) => read(path)?,
        (None, MasterKeySource::Setting) => None,
    };
    let sealed_with = sealed_sample(db).await?;
    let help = "Every instance of a deployment needs the same master key: copy keys/master.key \
                (mode 0600) from an instance that runs into this one's keys directory, or set \
                TESSERA_MASTER_KEY to its contents (after `tessera keys rotate-master`: the new key).";
    match (configured, sealed_with) {
        (Some(key), Some(id)) if key.id() == id => Ok((key, source)),
        (Some(key), Some(id)) => Err(KeyError::MasterKey(format!(
            "the master key from {source} (id {}) is not the one the keys in the database are sealed under (id {id}): \
             this instance cannot open them and will not start. {help}",
            key.id()
        ))),
        (None, Some(id)) => Err(KeyError::MasterKey(format!(
            "the keys in the database are sealed under master key {id}, and this instance has none \
             ({source} does not exist and TESSERA_MASTER_KEY is not set). It will not start, nor make new keys. {help}"
        ))),
        (Some(key), None) => Ok((key, source)),
        (None, None) => {
            let MasterKeySource::File(path) = &source else {
                return Err(KeyError::MasterKey("no master key".into()));
            };
            Ok((create(path)?, source))
        }
    }
}

fn read(path: &Path) -> Result<Option<MasterKey>, KeyError> {
    sealing::read_key_file(path).map_err(|cause| KeyError::Io {
        path: path.into(),
        cause,
    })
}

/// A new master key file; if another process on this directory wrote one first, that one.
fn create(path: &Path) -> Result<MasterKey, KeyError> {
    let io = |cause| KeyError::Io {
        path: path.into(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let key = MasterKey::generate()?;
    match sealing::write_new_key_file(path, &key) {
        Ok(()) => {
            tracing::info!(path = %path.display(), master_key = key.id(), "generated the master key; every other instance needs a copy");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| KeyError::MasterKey(format!("{} vanished", path.display())))
        }
        Err(e) => Err(io(e)),
    }
}

/// The master-key id of one sealed value in the database, if any is sealed.
async fn sealed_sample(db: &DatabaseConnection) -> Result<Option<String>, KeyError> {
    if let Some(pepper) = server_keys::get(db, PEPPER).await? {
        if let Some(id) = sealing::sealed_with(&pepper) {
            return Ok(Some(id.to_string()));
        }
    }
    let signing = signing_keys::list(db).await?;
    let upstreams = upstreams::list(db).await?;
    Ok(signing
        .iter()
        .map(|k| k.private_key.as_str())
        .chain(upstreams.iter().map(|u| u.client_secret.as_str()))
        .find_map(sealing::sealed_with)
        .map(str::to_string))
}

/// Seals in place what the previous version stored in clear: the pepper and the upstream
/// client secrets keep their rows; the two signing keys move to `signing_keys` as active keys
/// (same kid, so every token they signed still verifies) and their clear rows are deleted,
/// as are the clear copies in the keys directory. Safe to run on every start, and by several
/// instances at once (conditional updates).
pub async fn seal_legacy(
    db: &DatabaseConnection,
    master: &MasterKey,
    dir: &Path,
    now: i64,
) -> Result<(), KeyError> {
    let mut cleared = false;
    if let Some(pepper) = server_keys::get(db, PEPPER).await? {
        if !sealing::is_sealed(&pepper) {
            cleared = true;
            let sealed = master.seal(&pepper_label(), pepper.as_bytes())?;
            if server_keys::replace_if(db, PEPPER, &pepper, &sealed).await? {
                tracing::info!("sealed the client-secret pepper under the master key");
            }
        }
    } else if let Ok(local) = std::fs::read_to_string(dir.join(PEPPER)) {
        // A keys directory older than the shared database copy: its pepper is the one.
        let sealed = master.seal(&pepper_label(), local.as_bytes())?;
        server_keys::insert_if_absent(db, PEPPER, &sealed, now).await?;
    }
    let mut imported = false;
    for (alg, purpose) in LEGACY_KEYS {
        let from_db = server_keys::get(db, purpose).await?;
        let from_dir = std::fs::read(dir.join(purpose)).ok();
        let pem = match (&from_db, from_dir) {
            (Some(text), _) => Some(text.clone().into_bytes()),
            (None, local) => local,
        };
        if let Some(pem) = pem {
            let material = material_from_pem(alg, &pem)?;
            let rows = signing_keys::list(db).await?;
            let has_active = rows
                .iter()
                .any(|r| r.alg == alg.as_str() && r.state == signing_keys::ACTIVE);
            if !has_active && !rows.iter().any(|r| r.kid == material.kid) {
                let sealed = master.seal(&seal_label(&material.kid), &material.pem)?;
                let inserted = signing_keys::insert(
                    db,
                    &material.kid,
                    alg.as_str(),
                    signing_keys::ACTIVE,
                    &sealed,
                    None,
                    now,
                )
                .await;
                // Another instance importing the same key at once wins the same way.
                if inserted.is_ok() {
                    imported = true;
                    tracing::info!(kid = %material.kid, alg = alg.as_str(), "moved the signing key into signing_keys, sealed");
                }
            }
        }
        if from_db.is_some() {
            server_keys::delete(db, purpose).await?;
            cleared = true;
        }
    }
    for file in [LEGACY_KEYS[0].1, LEGACY_KEYS[1].1, PEPPER] {
        let path = dir.join(file);
        if path.exists() {
            // The database holds it, sealed; a clear copy on disk is only a liability.
            std::fs::remove_file(&path).map_err(|cause| KeyError::Io {
                path: path.clone(),
                cause,
            })?;
            tracing::info!(path = %path.display(), "removed the clear-text key file (the database holds the key, sealed)");
        }
    }
    for upstream in upstreams::list(db).await? {
        if !sealing::is_sealed(&upstream.client_secret) {
            cleared = true;
            let sealed = master.seal(
                &upstream_label(&upstream.name),
                upstream.client_secret.as_bytes(),
            )?;
            upstreams::replace_client_secret_if(
                db,
                &upstream.name,
                &upstream.client_secret,
                &sealed,
            )
            .await?;
            tracing::info!(upstream = %upstream.name, "sealed the upstream client secret");
        }
    }
    if imported {
        versions::bump(db, versions::KEYS, now).await?;
    }
    if cleared {
        crate::storage::scrub(db).await?;
    }
    Ok(())
}

/// The client-secret pepper, generated and stored (sealed) on the first start.
pub async fn pepper(
    db: &DatabaseConnection,
    master: &MasterKey,
    now: i64,
) -> Result<Vec<u8>, KeyError> {
    let stored = match server_keys::get(db, PEPPER).await? {
        Some(stored) => stored,
        None => {
            let fresh = crate::secrets::random_token(32);
            let sealed = master.seal(&pepper_label(), fresh.as_bytes())?;
            server_keys::insert_if_absent(db, PEPPER, &sealed, now).await?
        }
    };
    let text = master.open_string(&pepper_label(), &stored)?;
    URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| KeyError::Invalid {
            what: PEPPER.into(),
            message: e.to_string(),
        })
}

/// What `rotate_master` re-sealed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Resealed {
    pub signing_keys: usize,
    pub pepper: bool,
    pub upstream_secrets: usize,
}

/// Re-seals everything sealed under `old` under `new`, in one transaction: afterwards the
/// database opens only with `new`. Bumps the keys version, so running instances re-read
/// (and pick up a new key file, see `Keys::refresh`).
pub async fn rotate_master(
    db: &DatabaseConnection,
    old: &MasterKey,
    new: &MasterKey,
    now: i64,
) -> Result<Resealed, KeyError> {
    let txn = db.begin().await?;
    let mut done = Resealed::default();
    if let Some(pepper) = server_keys::get(&txn, PEPPER).await? {
        let plain = old.open(&pepper_label(), &pepper)?;
        let sealed = new.seal(&pepper_label(), &plain)?;
        done.pepper = server_keys::replace_if(&txn, PEPPER, &pepper, &sealed).await?;
    }
    for row in signing_keys::list(&txn).await? {
        if row.private_key.is_empty() {
            continue; // retired: erased
        }
        let label = seal_label(&row.kid);
        let sealed = new.seal(&label, &old.open(&label, &row.private_key)?)?;
        if signing_keys::reseal(&txn, &row.kid, &row.private_key, &sealed).await? {
            done.signing_keys += 1;
        }
    }
    for upstream in upstreams::list(&txn).await? {
        let label = upstream_label(&upstream.name);
        let sealed = new.seal(&label, &old.open(&label, &upstream.client_secret)?)?;
        if upstreams::replace_client_secret_if(
            &txn,
            &upstream.name,
            &upstream.client_secret,
            &sealed,
        )
        .await?
        {
            done.upstream_secrets += 1;
        }
    }
    versions::bump(&txn, versions::KEYS, now).await?;
    txn.commit().await?;
    crate::storage::scrub(db).await?;
    Ok(done)
}
