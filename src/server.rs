//! Assembling and running the server: database, migrations, keys, router.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::head_deadline::HeadDeadline;
use crate::jose::keys::Keys;
use crate::state::AppState;
use crate::storage;

/// Connects, migrates and loads (or generates) keys: everything a running server needs.
pub async fn build_state(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    settings.check().map_err(anyhow::Error::msg)?;
    let assets = crate::views::assets::Assets::load(&settings).map_err(anyhow::Error::msg)?;
    let db = storage::opening::open(&settings.database_url, settings.db_pool_size)
        .await
        .map_err(anyhow::Error::msg)?;
    let keys = Arc::new(Keys::load_shared(&db, &settings.store(), clock.now()).await?);
    let throttle_store = match &settings.redis_url {
        Some(url) => crate::throttle::Store::Redis(
            crate::throttle::redis_store::RedisStore::connect(url.expose(), &settings.redis_prefix)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot reach Redis at TESSERA_REDIS_URL={}: {e}; start Redis or unset TESSERA_REDIS_URL to keep the limits in the database",
                        redact_url(url.expose())
                    )
                })?,
        ),
        None => crate::throttle::Store::Db(db.clone()),
    };
    let state = AppState::new(db, keys, clock, settings, throttle_store, assets);
    // Key rotations and promotions reach this instance within a poll, without a restart.
    state.keys.start_watch(
        state.db.clone(),
        state.clock.clone(),
        state.settings.clone(),
        state.audit.clone(),
    );
    Ok(state)
}

/// Most connections served at once; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// A client must send a complete request head within this time (also how long an idle
/// keep-alive connection stays open): slow clients cannot hold connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line and headers), and most header fields; beyond either
/// the answer is 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADERS: usize = 64;
/// After a shutdown signal, in-flight requests get this long to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Serves until the process receives Ctrl-C or SIGTERM, then drains and returns `Ok`. The
/// admin router (metrics, health) is served on `admin`, if given, until the same signal.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    admin: Option<TcpListener>,
) -> std::io::Result<()> {
    spawn_housekeeping(state.clone());
    spawn_metrics_upkeep(state.clone());
    if let Some(admin) = admin {
        tokio::spawn(serve_router(
            crate::admin::router(state.clone()),
            admin,
            shutdown_signal(),
        ));
    }
    crate::oauth::logout::backchannel::spawn_worker(
        state.db.clone(),
        state.clock.clone(),
        state.settings.allow_private_callbacks,
    );
    crate::audit::spawn_purge(
        state.db.clone(),
        state.clock.clone(),
        state.settings.audit_retention_days,
    );
    let audit = state.audit.clone();
    let key_usage = state.api_key_usage.clone();
    serve_router(crate::app::router(state), listener, shutdown_signal()).await;
    // The events of the requests just drained reach the log and the table before exit.
    audit.flush().await;
    key_usage.flush().await;
    Ok(())
}

/// Serves `router` on `listener` over HTTP/1.1 with the limits above until `shutdown`
/// completes; then stops accepting, lets in-flight requests finish (at most
/// `DRAIN_TIMEOUT`) and closes idle connections. The binary and every test serve with this.
pub async fn serve_router(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // The head deadline is `head_deadline`'s, not hyper's (which costs a timer per request).
    http.header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEADER_BYTES.max(8192) * 2);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let deadline = HeadDeadline::new(HEADER_READ_TIMEOUT);
        let heads = deadline.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let answering = heads.head_arrived();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let answer = router.clone().oneshot(request);
            async move {
                let answer = answer.await;
                drop(answering);
                answer
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A connection past its head deadline is dropped, which closes it.
            tokio::select! {
                biased;
                _ = connection => {}
                () = deadline.expired() => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {} s; closing their connections",
            DRAIN_TIMEOUT.as_secs()
        );
    }
}

/// Errors of one connection (reset, aborted) are the client's; others (out of file
/// descriptors) are waited out so that the loop does not spin.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections");
    tokio::time::sleep(Duration::from_millis(200)).await;
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
                storage::login_sessions::purge_expired(&state.db, now).await,
                storage::throttle::purge_expired(&state.db, now).await,
            ];
            for result in results {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
        }
    });
}

/// Folds recorded latencies into their histograms every few seconds (see
/// `Metrics::upkeep`): a lock-free push per request, a short walk here.
fn spawn_metrics_upkeep(state: AppState) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            state.metrics.upkeep();
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
    storage::opening::redact(url)
}
