//! The life of a signing key: `next` (published, so resource servers' caches learn it
//! before it signs), `active` (signs), `retiring` (published, no longer signs: tokens it
//! signed still verify), `retired` (gone from the JWKS, private key erased). The rules, for
//! the CLI and for every instance's watcher; each change is a conditional update in
//! `storage::signing_keys`, so it happens once however many instances try, and bumps the
//! keys version so every instance reloads.
use sea_orm::DatabaseConnection;

use super::keys::{generate, seal_label, KeyError, Keys};
use crate::config::Settings;
use crate::sealing::MasterKey;
use crate::storage::signing_keys::{self as store, SigningKeyRow, ACTIVE, NEXT, RETIRED};
use crate::storage::versions;
use crate::types::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no key with kid {0}; see `tessera keys list`")]
    Unknown(String),
    #[error("key {kid} is the active {alg} key: it cannot be retired. Rotate first (`tessera keys rotate --alg {alg}`), then retire it once it is retiring and its tokens have expired")]
    Active { kid: String, alg: String },
    #[error("key {0} is next (published, not yet signing); it is promoted automatically — there is nothing to retire")]
    Next(String),
    #[error("key {0} is already retired")]
    AlreadyRetired(String),
    #[error("key {kid} stopped signing {since_seconds} s ago; tokens it signed may be valid for {remaining_seconds} s more (the longest token lifetime is {lifetime} s). Retire it after that, or pass --force to make those tokens fail now")]
    TokensMayBeValid {
        kid: String,
        since_seconds: i64,
        remaining_seconds: i64,
        lifetime: i64,
    },
    #[error("{alg} key {kid} is already next (it becomes active in {in_seconds} s); pass --now to promote it at once")]
    AlreadyPending {
        kid: String,
        alg: String,
        in_seconds: i64,
    },
    #[error("another process changed the {0} keys at the same moment; run the command again")]
    Raced(String),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("sealing: {0}")]
    Seal(#[from] crate::sealing::SealError),
}

/// What a rotation did.
#[derive(Debug, serde::Serialize)]
pub struct Rotation {
    pub alg: &'static str,
    /// The new (or already pending) key.
    pub kid: String,
    /// The key that signed until now.
    pub previous: String,
    /// When the new key signs (now if promoted at once).
    pub activate_at: i64,
    pub promoted: bool,
}

/// Makes sure each algorithm has an active key, generating one on a fresh database. Two
/// instances starting at once: the unique index keeps the first, the second uses it.
pub async fn ensure_active(
    db: &DatabaseConnection,
    master: &MasterKey,
    now: i64,
) -> Result<(), KeyError> {
    for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
        if active_of(&store::list(db).await?, alg).is_some() {
            continue;
        }
        let material = generate_off_runtime(alg).await?;
        let sealed = master.seal(&seal_label(&material.kid), &material.pem)?;
        let inserted =
            store::insert(db, &material.kid, alg.as_str(), ACTIVE, &sealed, None, now).await;
        match inserted {
            Ok(()) => {
                tracing::info!(kid = %material.kid, alg = alg.as_str(), "generated a signing key")
            }
            Err(e) if active_of(&store::list(db).await?, alg).is_none() => return Err(e.into()),
            Err(_) => {}
        }
        versions::bump(db, versions::KEYS, now).await?;
    }
    Ok(())
}

/// A new key pair, generated on a blocking thread: an RSA key takes tens to hundreds of
/// milliseconds, which must not stall the requests sharing a runtime worker.
async fn generate_off_runtime(alg: SigningAlg) -> Result<super::keys::KeyMaterial, KeyError> {
    tokio::task::spawn_blocking(move || generate(alg))
        .await
        .map_err(|e| KeyError::Invalid {
            what: alg.as_str().into(),
            message: format!("key generation failed: {e}"),
        })?
}

fn active_of(rows: &[SigningKeyRow], alg: SigningAlg) -> Option<&SigningKeyRow> {
    rows.iter()
        .find(|r| r.alg == alg.as_str() && r.state == ACTIVE)
}

/// `tessera keys rotate`: a new key for `alg`, published as `next` and signing from
/// `now + publish_ahead` (at once if `immediately`, when the old one becomes `retiring`).
/// With a `next` key already waiting, `immediately` promotes it; otherwise that is refused.
pub async fn rotate(
    db: &DatabaseConnection,
    master: &MasterKey,
    alg: SigningAlg,
    publish_ahead: i64,
    immediately: bool,
    now: i64,
) -> Result<Rotation, LifecycleError> {
    let rows = store::list(db).await?;
    let active = active_of(&rows, alg)
        .ok_or_else(|| LifecycleError::Raced(alg.as_str().into()))?
        .kid
        .clone();
    if let Some(pending) = rows
        .iter()
        .find(|r| r.alg == alg.as_str() && r.state == NEXT)
    {
        let activate_at = pending.activate_at.unwrap_or(now);
        if !immediately {
            return Err(LifecycleError::AlreadyPending {
                kid: pending.kid.clone(),
                alg: alg.as_str().into(),
                in_seconds: (activate_at - now).max(0),
            });
        }
        if !store::promote(db, &pending.kid, alg.as_str(), now).await? {
            return Err(LifecycleError::Raced(alg.as_str().into()));
        }
        versions::bump(db, versions::KEYS, now).await?;
        return Ok(Rotation {
            alg: alg.as_str(),
            kid: pending.kid.clone(),
            previous: active,
            activate_at: now,
            promoted: true,
        });
    }
    let activate_at = if immediately {
        now
    } else {
        now + publish_ahead.max(0)
    };
    let kid = start_successor(db, master, &active, alg, activate_at, now)
        .await?
        .ok_or_else(|| LifecycleError::Raced(alg.as_str().into()))?;
    // An instance may see the new key due and promote it first: either way it is active.
    let promoted = immediately
        && (store::promote(db, &kid, alg.as_str(), now).await?
            || store::find(db, &kid)
                .await?
                .is_some_and(|row| row.state == ACTIVE));
    versions::bump(db, versions::KEYS, now).await?;
    Ok(Rotation {
        alg: alg.as_str(),
        kid,
        previous: active,
        activate_at,
        promoted,
    })
}

/// Creates the `next` successor of the active key `active`, unless a rotation of it is
/// under way already (then None): the claim on the active key's row decides.
async fn start_successor(
    db: &DatabaseConnection,
    master: &MasterKey,
    active: &str,
    alg: SigningAlg,
    activate_at: i64,
    now: i64,
) -> Result<Option<String>, LifecycleError> {
    if !store::start_rotation(db, active, now).await? {
        return Ok(None);
    }
    let stored = async {
        let material = generate_off_runtime(alg).await?;
        let sealed = master.seal(&seal_label(&material.kid), &material.pem)?;
        store::insert(
            db,
            &material.kid,
            alg.as_str(),
            NEXT,
            &sealed,
            Some(activate_at),
            now,
        )
        .await?;
        Ok::<_, LifecycleError>(material.kid)
    }
    .await;
    match stored {
        Ok(kid) => Ok(Some(kid)),
        Err(e) => {
            store::cancel_rotation(db, active).await?;
            Err(e)
        }
    }
}

/// `tessera keys retire`: removes a retiring key from the JWKS. Refused for an active or
/// next key, and while tokens it signed may still be valid (`max_token_lifetime` seconds
/// after it stopped signing) unless `force`.
pub async fn retire(
    db: &DatabaseConnection,
    kid: &str,
    force: bool,
    max_token_lifetime: i64,
    now: i64,
) -> Result<SigningKeyRow, LifecycleError> {
    let row = store::find(db, kid)
        .await?
        .ok_or_else(|| LifecycleError::Unknown(kid.into()))?;
    match row.state.as_str() {
        ACTIVE => {
            return Err(LifecycleError::Active {
                kid: row.kid,
                alg: row.alg,
            })
        }
        NEXT => return Err(LifecycleError::Next(row.kid)),
        RETIRED => return Err(LifecycleError::AlreadyRetired(row.kid)),
        _ => {}
    }
    let since = row.retiring_since.unwrap_or(now);
    let remaining = since + max_token_lifetime - now;
    if remaining > 0 && !force {
        return Err(LifecycleError::TokensMayBeValid {
            kid: row.kid,
            since_seconds: now - since,
            remaining_seconds: remaining,
            lifetime: max_token_lifetime,
        });
    }
    if !store::retire(db, kid, now).await? {
        return Err(LifecycleError::Raced(row.alg));
    }
    versions::bump(db, versions::KEYS, now).await?;
    crate::storage::scrub(db).await?;
    Ok(SigningKeyRow {
        state: RETIRED.into(),
        retired_at: Some(now),
        ..row
    })
}

/// The longest lifetime of a token signed by a server key: a key must stay published that
/// long after it stops signing.
pub fn max_token_lifetime(access_token_ttl: i64, id_token_ttl: i64) -> i64 {
    access_token_ttl.max(id_token_ttl)
}

/// The watcher's scheduled work, from this instance's current set (no database read unless
/// something is due): promote `next` keys whose time has come, and with
/// `TESSERA_KEY_ROTATION_DAYS` start the rotation of active keys that old.
pub async fn scheduled(
    db: &DatabaseConnection,
    keys: &Keys,
    settings: &Settings,
    audit: &crate::audit::Audit,
    now: i64,
) -> Result<(), LifecycleError> {
    use crate::audit::{AuditEvent, Kind, Target};
    // A full reference, not a guard: this is held across database calls.
    let set = std::sync::Arc::clone(&keys.signing());
    let mut changed = false;
    for key in set.published() {
        let due = key.state == NEXT && key.activate_at.is_some_and(|at| at <= now);
        if due && store::promote(db, &key.kid, key.alg.as_str(), now).await? {
            tracing::info!(kid = %key.kid, alg = key.alg.as_str(), "promoted the next signing key to active");
            audit.record(
                AuditEvent::new(Kind::KeyRotated)
                    .reason("promoted")
                    .target(Target::Kid(key.kid.clone())),
            );
            changed = true;
        }
    }
    if let Some(days) = settings.key_rotation_days.filter(|d| *d > 0) {
        let period = i64::from(days) * 86_400;
        for key in set.published() {
            let due = key.state == ACTIVE
                && key.rotation_started_at.is_none()
                && key.activated_at.is_some_and(|at| at + period <= now);
            if due {
                let activate_at = now + i64::from(settings.key_publish_ahead_seconds);
                let master = keys.master();
                if let Some(kid) =
                    start_successor(db, &master, &key.kid, key.alg, activate_at, now).await?
                {
                    tracing::info!(%kid, alg = key.alg.as_str(), "automatic rotation: published the next signing key");
                    audit.record(
                        AuditEvent::new(Kind::KeyRotated)
                            .reason("automatic")
                            .target(Target::Kid(kid.clone())),
                    );
                    changed = true;
                }
            }
        }
    }
    if changed {
        versions::bump(db, versions::KEYS, now).await?;
    }
    Ok(())
}
