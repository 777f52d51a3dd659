//! Assembling and running the server: database, migrations, keys, router.
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::jose::keys::Keys;
use crate::state::AppState;
use crate::storage;

/// Connects, migrates and loads (or generates) keys: everything a running server needs.
pub async fn build_state(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    settings.check().map_err(anyhow::Error::msg)?;
    let db = storage::connect(&settings.database_url, settings.db_pool_size)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open the database {}: {e}",
                redact_url(&settings.database_url)
            )
        })?;
    storage::migrate(&db)
        .await
        .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))?;
    let keys = Arc::new(Keys::load_shared(&db, &settings, clock.now()).await?);
    let state = AppState::new(db, keys, clock, settings);
    // Key rotations and promotions reach this instance within a poll, without a restart.
    state.keys.start_watch(
        state.db.clone(),
        state.clock.clone(),
        state.settings.clone(),
    );
    Ok(state)
}

/// Serves until the process receives Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    spawn_housekeeping(state.clone());
    let app = crate::app::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Deletes expired sessions, codes and token records every ten minutes.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            interval.tick().await;
            let now = state.clock.now();
            let store =
                storage::sessions::DbSessionStore::new(state.db.clone(), state.clock.clone());
            let results = [
                store.purge_expired().await.map(|_| ()),
                storage::codes::purge_expired(&state.db, now)
                    .await
                    .map(|_| ()),
                storage::families::purge_expired(&state.db, now).await,
                storage::revocations::purge_expired(&state.db, now).await,
                storage::assertions::purge_expired(&state.db, now).await,
            ];
            for result in results {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// A database URL with any password replaced, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
