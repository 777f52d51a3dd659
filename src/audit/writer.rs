//! The background writer: events are queued in per-thread shards and logged and inserted in
//! batches (every `BATCH_INTERVAL`, sooner when a shard fills up or a flush is asked for), so
//! the token path pays one uncontended lock and a push per event, no database write, and no
//! write to memory that another request thread writes too. A full shard drops the event and
//! counts it (logged by the writer), rather than slowing the request.
//!
//! Why shards and not a channel: with a channel every event wrote the channel's semaphore, its
//! tail and its waker state, cache lines that every request thread shares; on two cores under
//! load that cost more than recording the event (BENCHMARKS.md, stops 17 and 18). A thread
//! takes the shard of its own index (see `SHARD`), so its lock stays in its core's cache.
//!
//! The writer is woken once per batch, never per event: it sleeps out the interval, then
//! swaps every shard's events for an empty buffer of the last batch's size.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use super::{AuditEvent, EventMeta};
use crate::clock::SharedClock;
use crate::storage::audit::{self as store, NewAuditRow};
use crate::storage::Db;

/// Events waiting in one shard for the writer, at most; beyond that they are dropped and
/// counted. Each thread that records uses one shard, so at most `SHARDS` times this wait.
pub const CHANNEL_CAPACITY: usize = 16_384;
/// The longest an event waits before it is written.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Shards; threads beyond this many share them (a request thread pool is rarely larger).
const SHARDS: usize = 16;
/// Rows inserted in one transaction, at most.
const ROWS_PER_TRANSACTION: usize = 1024;
/// Attempts at inserting a batch while the database is unavailable, a second apart.
const WRITE_ATTEMPTS: u32 = 3;
/// Longest a flush waits for the writer (shutdown must stay bounded).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// One thread's queued events, on a cache line of its own (the shards are an array).
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Vec<AuditEvent>>);

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The shard of this thread: assigned on its first event, in turn.
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// What the recording threads and the writer share.
struct Queue {
    shards: [Shard; SHARDS],
    /// Flushes asked for, answered after the events recorded before them are written.
    flushes: Mutex<Vec<oneshot::Sender<()>>>,
    /// Ends the writer's wait before the interval is over: a flush, a shard three quarters
    /// full, or the last handle dropped.
    hurry: Notify,
    /// Set when the last handle is dropped: the writer writes what is left and ends.
    closed: AtomicBool,
    dropped: AtomicU64,
    capacity: usize,
}

/// Closes the queue when the last [`Audit`] clone is dropped.
struct Handle(Arc<Queue>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.hurry.notify_one();
    }
}

/// The handle events are recorded through; cloning shares the one writer.
#[derive(Clone)]
pub struct Audit {
    handle: Arc<Handle>,
    clock: SharedClock,
}

impl Audit {
    /// Starts the writer for `db`; it ends once every handle is dropped, after writing what
    /// it holds. Needs a Tokio runtime.
    pub fn start(db: Db, clock: SharedClock) -> Audit {
        Audit::with_capacity(db, clock, CHANNEL_CAPACITY)
    }

    /// [`Audit::start`] with shards of `capacity` events.
    pub fn with_capacity(db: Db, clock: SharedClock, capacity: usize) -> Audit {
        let queue = Arc::new(Queue {
            shards: Default::default(),
            flushes: Mutex::new(Vec::new()),
            hurry: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            capacity: capacity.max(1),
        });
        tokio::spawn(run(db, queue.clone()));
        Audit {
            handle: Arc::new(Handle(queue)),
            clock,
        }
    }

    fn queue(&self) -> &Queue {
        &self.handle.0
    }

    /// Queues `event` stamped with the time and the current request; never waits.
    pub fn record(&self, mut event: AuditEvent) {
        event.at = self.clock.now();
        event.meta = EventMeta::current();
        event.recorded = monotonic_nanos();
        let queue = self.queue();
        let shard = SHARD.try_with(|s| *s).unwrap_or(0);
        // A poisoned lock (a panic while pushing) still holds a usable list.
        let mut events = queue.shards[shard]
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if events.len() >= queue.capacity {
            drop(events);
            queue.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        events.push(event);
        let filling = events.len() * 4 > queue.capacity * 3;
        drop(events);
        if filling {
            queue.hurry.notify_one();
        }
    }

    /// Waits until every event recorded before this call is logged and written (or given
    /// up on): at shutdown, at the end of a CLI command, and in tests.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        lock(&self.queue().flushes).push(done);
        self.queue().hurry.notify_one();
        if tokio::time::timeout(FLUSH_TIMEOUT, wait).await.is_err() {
            tracing::warn!(target: "audit", "audit events not written within {} s", FLUSH_TIMEOUT.as_secs());
        }
    }

    /// How many events were dropped because their shard was full.
    pub fn dropped(&self) -> u64 {
        self.queue().dropped.load(Ordering::Relaxed)
    }
}

/// Nanoseconds since the first call, on the monotonic clock every thread reads alike.
fn monotonic_nanos() -> u64 {
    static EPOCH: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    u64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn run(db: Db, queue: Arc<Queue>) {
    // Each shard's events of the last batch, cleared: swapped in as the next buffers, so a
    // thread's buffer is allocated once, at the size its load needs.
    let mut batches: Vec<Vec<AuditEvent>> = (0..SHARDS).map(|_| Vec::new()).collect();
    let mut reported_drops = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(BATCH_INTERVAL) => {}
            () = queue.hurry.notified() => {}
        }
        // Taken before the events: every event recorded before a flush was asked for is in
        // its shard by now.
        let flushes = std::mem::take(&mut *lock(&queue.flushes));
        let closed = queue.closed.load(Ordering::Acquire);
        for (shard, batch) in queue.shards.iter().zip(batches.iter_mut()) {
            std::mem::swap(&mut *lock(&shard.0), batch);
        }
        let total = queue.dropped.load(Ordering::Relaxed);
        if total > reported_drops {
            tracing::warn!(target: "audit", dropped = total - reported_drops, total, "audit queue full: events dropped");
            reported_drops = total;
        }
        // In the order recorded across threads (each shard is in order already, so the sort
        // merges a few runs).
        let mut events: Vec<&AuditEvent> = batches.iter().flatten().collect();
        events.sort_by_key(|event| event.recorded);
        write(&db, events.into_iter()).await;
        for batch in &mut batches {
            batch.clear();
        }
        for done in flushes {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}

/// Logs and inserts `events`.
async fn write<'a>(db: &Db, events: impl Iterator<Item = &'a AuditEvent>) {
    let mut events = events.peekable();
    if events.peek().is_none() {
        return;
    }
    let mut rows = Vec::with_capacity(ROWS_PER_TRANSACTION);
    loop {
        rows.clear();
        rows.extend(events.by_ref().take(ROWS_PER_TRANSACTION).map(log_and_row));
        if rows.is_empty() {
            return;
        }
        // One transaction per slice: a burst must not hold SQLite's write lock for long.
        insert(db, &rows).await;
    }
}

async fn insert(db: &Db, rows: &[NewAuditRow<'_>]) {
    let count = rows.len();
    for attempt in 1..=WRITE_ATTEMPTS {
        match store::insert_batch(db, rows).await {
            Ok(()) => return,
            Err(e) if attempt == WRITE_ATTEMPTS => {
                tracing::error!(target: "audit", error = %e, count, "audit events not stored (they are in the log)");
            }
            Err(e) => {
                tracing::warn!(target: "audit", error = %e, count, attempt, "storing audit events failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The log line of an event (target `audit`, one structured field per column; `-` for an
/// absent one), and its row.
fn log_and_row(event: &AuditEvent) -> NewAuditRow<'_> {
    let row = NewAuditRow {
        at: event.at,
        kind: event.kind.as_str(),
        client_id: event.client_id.as_deref(),
        user_id: event.user_id.as_deref(),
        username: event.username.as_deref(),
        ip: event.meta.ip.as_deref(),
        user_agent: event.meta.user_agent.as_deref(),
        request_id: event.meta.request_id.as_deref(),
        reason: event.reason,
        grant_type: event.grant_type,
        target: event
            .target
            .as_ref()
            .map(|(prefix, id)| (*prefix, id.as_str())),
    };
    tracing::info!(
        target: "audit",
        kind = row.kind,
        at = row.at,
        client_id = row.client_id.unwrap_or("-"),
        user_id = row.user_id.unwrap_or("-"),
        username = row.username.unwrap_or("-"),
        ip = row.ip.unwrap_or("-"),
        user_agent = ?row.user_agent.unwrap_or("-"),
        request_id = row.request_id.unwrap_or("-"),
        reason = row.reason.unwrap_or("-"),
        grant_type = row.grant_type.unwrap_or("-"),
        target = %Target(row.target),
        "audit event"
    );
    row
}

/// A target as logged: prefix and id, or `-`; written without joining them first.
struct Target<'a>(Option<(&'static str, &'a str)>);

impl std::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some((prefix, id)) => write!(f, "{prefix}{id}"),
            None => f.write_str("-"),
        }
    }
}

/// Deletes events older than `retention_days` (0 keeps everything); returns how many.
pub async fn purge(db: &Db, now: i64, retention_days: u32) -> Result<u64, sea_orm::DbErr> {
    if retention_days == 0 {
        return Ok(0);
    }
    store::purge_before(db, now - i64::from(retention_days) * 86_400).await
}

/// Purges old events at start and then hourly.
pub fn spawn_purge(db: Db, clock: SharedClock, retention_days: u32) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            match purge(&db, clock.now(), retention_days).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: "audit", purged = n, retention_days, "purged old audit events")
                }
                Err(e) => tracing::warn!(target: "audit", error = %e, "audit purge failed"),
            }
        }
    });
}
