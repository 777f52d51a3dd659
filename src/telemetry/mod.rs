//! Metrics in the Prometheus text format, served by the admin listener (`crate::admin`).
//!
//! Each server instance owns its recorder (in `AppState`), not a process-global one: two
//! instances in one process (the tests) count apart, and nothing reaches the recorder except
//! through the handles here. Every handle is registered once — at start, or on a route's
//! first request — so recording is an atomic add, with no label strings built per event.
//! What costs a query or a walk (database pool, hashing queue, back-channel outbox) is
//! sampled when `/metrics` is scraped, never on the request path.
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::accounts::password::Passwords;
use crate::storage::{self, Db};

pub const HTTP_REQUESTS: &str = "tessera_http_requests_total";
pub const HTTP_DURATION: &str = "tessera_http_request_duration_seconds";
pub const TOKENS_ISSUED: &str = "tessera_tokens_issued_total";
pub const LOGIN_FAILURES: &str = "tessera_login_failures_total";
pub const LOCKOUTS: &str = "tessera_lockouts_total";
pub const REFRESH_REUSE: &str = "tessera_refresh_token_reuse_total";
pub const DB_POOL_CONNECTIONS: &str = "tessera_db_pool_connections";
pub const DB_POOL_MAX: &str = "tessera_db_pool_max_connections";
pub const HASH_WAITING: &str = "tessera_password_hash_queue_depth";
pub const HASH_BUSY: &str = "tessera_password_hash_in_progress";
pub const BACKCHANNEL_PENDING: &str = "tessera_backchannel_deliveries_pending";

/// Latency buckets in seconds: a token grant takes about a millisecond, a login with argon2
/// tens of milliseconds, and anything near the pool's acquire timeout (3 s) is an outage.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The grants `/token` issues tokens for, in the order of `Metrics::tokens`.
const GRANTS: [&str; 4] = crate::clients::metadata::GRANT_TYPES;

/// How long a scrape waits for the outbox count: a scrape during an outage still answers.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// Registers handles on this instance's recorder.
#[derive(Clone)]
pub(crate) struct Registry(Arc<PrometheusRecorder>);

impl Registry {
    pub(crate) fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.0
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.0
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    pub(crate) fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.0
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    fn describe(&self, name: &'static str, kind: Kind, unit: Option<Unit>, help: &'static str) {
        let help = SharedString::const_str(help);
        match kind {
            Kind::Counter => self.0.describe_counter(name.into(), unit, help),
            Kind::Gauge => self.0.describe_gauge(name.into(), unit, help),
            Kind::Histogram => self.0.describe_histogram(name.into(), unit, help),
        }
    }
}

enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The gauges sampled on scrape.
struct Gauges {
    db_in_use: Gauge,
    db_idle: Gauge,
    db_max: Gauge,
    hash_waiting: Gauge,
    hash_busy: Gauge,
    backchannel_pending: Gauge,
}

/// This instance's metrics: the recorder, its pre-registered handles, and the renderer.
pub struct Metrics {
    handle: PrometheusHandle,
    /// Requests by route and status, latency by route.
    pub http: http::Routes,
    tokens: [Counter; GRANTS.len()],
    login_failures: Counter,
    lockouts: Counter,
    refresh_reuse: Counter,
    gauges: Gauges,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        // The one failure is an empty bucket list, which LATENCY_BUCKETS is not; a summary
        // (the exporter's default) would do if it ever were.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let registry = Registry(Arc::new(recorder));
        describe(&registry);
        let gauges = Gauges {
            db_in_use: registry.gauge(DB_POOL_CONNECTIONS, vec![Label::new("state", "in_use")]),
            db_idle: registry.gauge(DB_POOL_CONNECTIONS, vec![Label::new("state", "idle")]),
            db_max: registry.gauge(DB_POOL_MAX, vec![]),
            hash_waiting: registry.gauge(HASH_WAITING, vec![]),
            hash_busy: registry.gauge(HASH_BUSY, vec![]),
            backchannel_pending: registry.gauge(BACKCHANNEL_PENDING, vec![]),
        };
        Metrics {
            handle,
            tokens: GRANTS.map(|grant| {
                registry.counter(TOKENS_ISSUED, vec![Label::new("grant_type", grant)])
            }),
            login_failures: registry.counter(LOGIN_FAILURES, vec![]),
            lockouts: registry.counter(LOCKOUTS, vec![]),
            refresh_reuse: registry.counter(REFRESH_REUSE, vec![]),
            http: http::Routes::new(registry),
            gauges,
        }
    }

    /// A token response was sent for `grant_type` (one of the grants `/token` serves).
    pub fn token_issued(&self, grant_type: &str) {
        if let Some(i) = GRANTS.iter().position(|g| *g == grant_type) {
            self.tokens[i].increment(1);
        }
    }

    /// A password sign-in was refused (unknown user, wrong password, disabled account).
    pub fn login_failure(&self) {
        self.login_failures.increment(1);
    }

    /// An account or an address was locked out after repeated failures.
    pub fn lockout(&self) {
        self.lockouts.increment(1);
    }

    /// A rotated refresh token was presented again and its family revoked.
    pub fn refresh_reuse(&self) {
        self.refresh_reuse.increment(1);
    }

    /// Folds recorded latencies into the histograms. The exporter keeps samples until this
    /// runs (or a scrape renders), so the server runs it every few seconds: memory stays
    /// bounded when nobody scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Samples the gauges, then renders everything in the Prometheus text format.
    pub async fn render(&self, db: &Db, passwords: &Passwords) -> String {
        let gauges = &self.gauges;
        if let Some(pool) = storage::pool_stats(db) {
            gauges.db_in_use.set(pool.in_use as f64);
            gauges.db_idle.set(pool.idle as f64);
            gauges.db_max.set(pool.max as f64);
        }
        let (waiting, busy) = passwords.load();
        gauges.hash_waiting.set(waiting as f64);
        gauges.hash_busy.set(busy as f64);
        // During an outage the last known count stays: the scrape must not hang on it.
        let pending = storage::logout_deliveries::pending(db);
        if let Ok(Ok(n)) = tokio::time::timeout(SAMPLE_TIMEOUT, pending).await {
            gauges.backchannel_pending.set(n as f64);
        }
        self.handle.render()
    }
}

fn describe(registry: &Registry) {
    use Kind::*;
    let secs = Some(Unit::Seconds);
    for (name, kind, unit, help) in [
        (
            HTTP_REQUESTS,
            Counter,
            None,
            "HTTP requests answered, by route template and status",
        ),
        (
            HTTP_DURATION,
            Histogram,
            secs,
            "Time to answer an HTTP request, by route template",
        ),
        (
            TOKENS_ISSUED,
            Counter,
            None,
            "Token responses sent by /token, by grant type",
        ),
        (LOGIN_FAILURES, Counter, None, "Password sign-ins refused"),
        (
            LOCKOUTS,
            Counter,
            None,
            "Lockouts after repeated authentication failures",
        ),
        (
            REFRESH_REUSE,
            Counter,
            None,
            "Rotated refresh tokens presented again (family revoked)",
        ),
        (
            DB_POOL_CONNECTIONS,
            Gauge,
            None,
            "Database pool connections, in use or idle",
        ),
        (
            DB_POOL_MAX,
            Gauge,
            None,
            "Most connections the database pool opens",
        ),
        (
            HASH_WAITING,
            Gauge,
            None,
            "Password hashes waiting for a hashing thread",
        ),
        (HASH_BUSY, Gauge, None, "Password hashes being computed"),
        (
            BACKCHANNEL_PENDING,
            Gauge,
            None,
            "Back-channel logout deliveries waiting in the outbox",
        ),
    ] {
        registry.describe(name, kind, unit, help);
    }
}
