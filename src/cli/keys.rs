//! `tessera keys list | rotate | retire | rotate-master`.
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::audit::{self, AuditEvent, Kind, Target};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    StoreSettings, DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_ID_TOKEN_TTL,
    DEFAULT_KEY_PUBLISH_AHEAD_SECONDS,
};
use crate::jose::key_lifecycle::{self, Rotation};
use crate::jose::keys::{Keys, VISIBLE_AFTER};
use crate::jose::master_key;
use crate::sealing::{MasterKey, MasterKeySource};
use crate::storage::signing_keys;
use crate::types::SigningAlg;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: kid, algorithm, state (next, active, retiring, retired), age.
    List,
    /// Publish a new signing key as `next`; it signs after TESSERA_KEY_PUBLISH_AHEAD_SECONDS
    /// and the old key becomes `retiring`.
    Rotate {
        /// Only this algorithm (default: both).
        #[arg(long)]
        alg: Option<SigningAlg>,
        /// Promote at once instead of after the publish-ahead time (resource servers that
        /// cached the JWKS meet an unknown kid and must re-read it).
        #[arg(long)]
        now: bool,
        /// Seconds a new key is published (as `next`) before it signs: as the servers have it.
        #[arg(long, env = "TESSERA_KEY_PUBLISH_AHEAD_SECONDS", default_value_t = DEFAULT_KEY_PUBLISH_AHEAD_SECONDS)]
        key_publish_ahead_seconds: u32,
    },
    /// Remove a retiring key from the JWKS: tokens it signed stop verifying.
    Retire {
        /// The key's kid (from `tessera keys list`; a kid may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// Retire even though tokens it signed may still be valid.
        #[arg(long)]
        force: bool,
        /// Access-token lifetime the servers use: how long the key's tokens may live.
        #[arg(long, env = "TESSERA_ACCESS_TOKEN_TTL", default_value_t = DEFAULT_ACCESS_TOKEN_TTL)]
        access_token_ttl: i64,
        /// ID-token lifetime the servers use: how long the key's tokens may live.
        #[arg(long, env = "TESSERA_ID_TOKEN_TTL", default_value_t = DEFAULT_ID_TOKEN_TTL)]
        id_token_ttl: i64,
    },
    /// Re-seal every key and secret in the database under a new master key.
    RotateMaster,
}

pub async fn run(store: &StoreSettings, json: bool, command: KeysCommand) -> anyhow::Result<()> {
    let db = super::output::open(store).await?;
    let now = SystemClock.now();
    match command {
        KeysCommand::List => {
            // Makes the first keys on a fresh database, like a server start would.
            Keys::load_shared(&db, store, now).await?;
            list(&db, now, json).await
        }
        KeysCommand::Rotate {
            alg,
            now: at_once,
            key_publish_ahead_seconds,
        } => {
            let keys = Keys::load_shared(&db, store, now).await?;
            let algs = alg
                .map(|a| vec![a])
                .unwrap_or(vec![SigningAlg::Rs256, SigningAlg::Es256]);
            let mut done = Vec::new();
            for alg in algs {
                let rotation = key_lifecycle::rotate(
                    &db,
                    &keys.master(),
                    alg,
                    i64::from(key_publish_ahead_seconds),
                    at_once,
                    now,
                )
                .await?;
                audit::record_now(
                    &db,
                    AuditEvent::new(Kind::KeyRotated)
                        .reason(if at_once { "cli_now" } else { "cli" })
                        .target(Target::Kid(rotation.kid.clone())),
                )
                .await;
                done.push(rotation);
            }
            tokio::time::sleep(VISIBLE_AFTER).await;
            let text = done
                .iter()
                .map(|r| describe(r, now))
                .collect::<Vec<_>>()
                .join("\n");
            print(json, json!(done), &text);
            Ok(())
        }
        KeysCommand::Retire {
            kid,
            force,
            access_token_ttl,
            id_token_ttl,
        } => {
            let lifetime = key_lifecycle::max_token_lifetime(access_token_ttl, id_token_ttl);
            let row = key_lifecycle::retire(&db, &kid, force, lifetime, now).await?;
            tokio::time::sleep(VISIBLE_AFTER).await;
            print(
                json,
                json!({"kid": row.kid, "alg": row.alg, "state": row.state, "retired_at": row.retired_at}),
                &format!(
                    "Retired {} key {}: it is gone from the JWKS on every instance, and tokens it signed no longer verify here.",
                    row.alg, row.kid
                ),
            );
            Ok(())
        }
        KeysCommand::RotateMaster => rotate_master(store, &db, now, json).await,
    }
}

async fn list(db: &crate::storage::Db, now: i64, json_output: bool) -> anyhow::Result<()> {
    let rows = signing_keys::list(db).await?;
    if json_output {
        let rows: Vec<_> = rows
            .iter()
            .map(|k| {
                json!({
                    "kid": k.kid, "alg": k.alg, "state": k.state,
                    "age_seconds": now - k.created_at, "created_at": k.created_at,
                    "activate_at": k.activate_at, "activated_at": k.activated_at,
                    "retiring_since": k.retiring_since, "retired_at": k.retired_at,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("kid\talg\tstate\tage");
    for k in &rows {
        let detail = match (k.state.as_str(), k.activate_at, k.retiring_since) {
            (signing_keys::NEXT, Some(at), _) => format!(" (signs in {})", duration(at - now)),
            (signing_keys::RETIRING, _, Some(since)) => {
                format!(" (stopped signing {} ago)", duration(now - since))
            }
            _ => String::new(),
        };
        println!(
            "{}\t{}\t{}{}\t{}",
            k.kid,
            k.alg,
            k.state,
            detail,
            duration(now - k.created_at)
        );
    }
    println!("Rotate with `tessera keys rotate [--alg RS256|ES256]`; retire a retiring key with `tessera keys retire KID` once its tokens have expired.");
    Ok(())
}

fn describe(r: &Rotation, now: i64) -> String {
    if r.promoted {
        format!(
            "{}: key {} signs from now on; {} is retiring (still in the JWKS). Retire it with `tessera keys retire {}` once its tokens have expired.",
            r.alg, r.kid, r.previous, r.previous
        )
    } else {
        format!(
            "{}: published key {} as next; it signs in {} (every instance promotes it then; `--now` does it at once), and {} becomes retiring.",
            r.alg,
            r.kid,
            duration(r.activate_at - now),
            r.previous
        )
    }
}

async fn rotate_master(
    store: &StoreSettings,
    db: &crate::storage::Db,
    now: i64,
    json_output: bool,
) -> anyhow::Result<()> {
    let keys = Keys::load_shared(db, store, now).await?;
    let old = keys.master();
    let new = MasterKey::generate()?;
    let source = master_key::source(store);
    // The new key is saved before the database changes: a crash in between leaves the old
    // key working and the new one unused, never a database no key opens.
    let pending = match &source {
        MasterKeySource::File(path) => {
            let pending = path.with_extension("key.pending");
            let _ = std::fs::remove_file(&pending);
            crate::sealing::write_new_key_file(&pending, &new)
                .with_context(|| format!("cannot write {}", pending.display()))?;
            Some((pending, path.clone()))
        }
        MasterKeySource::Setting => None,
    };
    let done = master_key::rotate_master(db, &old, &new, now).await?;
    if let Some((pending, path)) = &pending {
        std::fs::rename(pending, path).with_context(|| {
            format!(
                "the database is sealed under the new key, which is in {}: move it to {} now",
                pending.display(),
                path.display()
            )
        })?;
    }
    let summary = format!(
        "Re-sealed {} signing keys, the pepper and {} upstream secrets under the new master key {} (was {}).",
        done.signing_keys,
        done.upstream_secrets,
        new.id(),
        old.id()
    );
    match &source {
        MasterKeySource::File(path) => {
            print(
                json_output,
                json!({"master_key_id": new.id(), "previous_master_key_id": old.id(), "file": path, "resealed": done}),
                &format!(
                    "{summary}\nThe new key is in {}. Copy it (mode 0600) to every other instance's keys directory: running instances pick it up from there at their next key change, and an instance cannot start with the old one.",
                    path.display()
                ),
            );
        }
        MasterKeySource::Setting => {
            // The only way the new key can reach the operator when it lives in the environment.
            print(
                json_output,
                json!({"master_key_id": new.id(), "previous_master_key_id": old.id(), "master_key": new.to_base64(), "resealed": done}),
                &format!(
                    "{summary}\nNew TESSERA_MASTER_KEY (shown once; store it in your secret store now):\n{}\nSet it on every instance and restart them; instances still on the old key keep serving with the keys they hold, but cannot start or load new keys.",
                    new.to_base64()
                ),
            );
        }
    }
    Ok(())
}

fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn print(json_output: bool, value: serde_json::Value, text: &str) {
    if json_output {
        println!("{value}");
    } else {
        println!("{text}");
    }
}
