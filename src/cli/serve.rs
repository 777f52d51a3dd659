//! `tessera serve` (the default) and `tessera migrate`.
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use super::output::{open_migrated, print};
use crate::clock::SystemClock;
use crate::config::{Settings, StoreSettings};
use crate::server::redact_url;
use crate::storage::{self, users};

pub async fn serve(settings: Settings, json: bool) -> anyhow::Result<()> {
    let listen = settings.listen;
    let settings_admin = settings.admin_listen.0;
    let issuer = settings.issuer_str().to_string();
    // The port first: a second server on a busy port must fail before it touches the
    // database or makes keys.
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {listen} (TESSERA_LISTEN): {e}. Is another server running there? Stop it or choose another address")
    })?;
    if settings.issuer.scheme() == "https" {
        tracing::warn!(
            %issuer,
            %listen,
            "Tessera serves plain http on {listen} while the issuer is https: a TLS-terminating proxy must forward {issuer} to it. Browsers send the sign-in cookie (__Host-, Secure) back only over https, so opening http://{listen} directly fails every login"
        );
    }
    let admin = match settings_admin {
        Some(address) => Some(tokio::net::TcpListener::bind(address).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {address} (TESSERA_ADMIN_LISTEN): {e}. Set it to another address, or to off")
        })?),
        None => None,
    };
    let state = crate::server::build_state(settings, Arc::new(SystemClock)).await?;
    tracing::info!(%issuer, %listen, "Tessera is serving");
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let empty = users::list(&state.db).await?.is_empty()
        || storage::clients::list(&state.db).await?.is_empty();
    let admin_address = admin.as_ref().and_then(|l| l.local_addr().ok());
    if json {
        eprintln!(
            "{}",
            json!({"listening": listen.to_string(), "issuer": issuer, "discovery": discovery,
                   "admin": admin_address.map(|a| a.to_string())})
        );
    } else {
        eprintln!(
            "Tessera {} listening on http://{listen} (issuer {issuer})",
            env!("CARGO_PKG_VERSION")
        );
        eprintln!("Discovery: {discovery}");
        if let Some(admin) = admin_address {
            eprintln!("Metrics and health: http://{admin}/metrics, /healthz, /readyz");
        }
        if empty {
            eprintln!("The database has no users or no clients yet. Create them with:");
            eprintln!("  echo 'a-strong-password' | tessera user add --username alice --email alice@example.com --password-stdin");
            eprintln!("  tessera client add --name 'My app' --redirect-uri http://127.0.0.1:3000/callback --json");
        }
    }
    crate::server::serve(state, listener, admin)
        .await
        .context("server failed")
}

const UP_TO_DATE: &str = "It is up to date; start the server with `tessera serve`.";

pub async fn migrate(store: &StoreSettings, json: bool) -> anyhow::Result<()> {
    let (db, applied) = open_migrated(store).await?;
    drop(db);
    let database = redact_url(&store.database_url);
    let text = match applied.as_slice() {
        [] => format!("Database {database} was already up to date: nothing to apply."),
        [one] => format!("Applied migration {one} to {database}. {UP_TO_DATE}"),
        [first, .., last] if applied.len() > 3 => format!(
            "Applied {} migrations to {database} ({first} to {last}). {UP_TO_DATE}",
            applied.len()
        ),
        some => format!(
            "Applied migrations {} to {database}. {UP_TO_DATE}",
            some.join(", ")
        ),
    };
    print(
        json,
        json!({"database": database, "migrated": true, "applied": applied}),
        &text,
    );
    Ok(())
}
