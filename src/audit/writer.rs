//! The background writer: events arrive on a bounded channel and are logged and inserted in
//! batches (every `BATCH_INTERVAL`, sooner when the channel fills up or a flush is asked
//! for), so the token path pays one channel send per event, no database write and no lock. A
//! full channel drops the event and counts it (logged by the writer), rather than slowing the
//! request.
//!
//! The writer is woken once per batch, not once per event: it waits for the first event,
//! then sleeps out the interval without watching the channel, then takes everything queued.
//! Watching the channel meanwhile would wake its task (and often a parked worker thread)
//! for every token issued.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};

use super::{AuditEvent, EventMeta};
use crate::clock::SharedClock;
use crate::storage::audit::{self as store, NewAuditRow};
use crate::storage::Db;

/// Events waiting for the writer, at most; beyond that they are dropped and counted.
pub const CHANNEL_CAPACITY: usize = 16_384;
/// The longest an event waits in the channel before it is written.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Rows inserted in one transaction, at most.
const ROWS_PER_TRANSACTION: usize = 1024;
/// Attempts at inserting a batch while the database is unavailable, a second apart.
const WRITE_ATTEMPTS: u32 = 3;
/// Longest a flush waits for the writer (shutdown must stay bounded).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// By value: an event is a few hundred bytes and holds no heap memory in the usual case
/// (see `audit::Text`), so queueing one allocates nothing; boxing it would cost an allocation
/// per event, freed by the writer's thread.
#[allow(clippy::large_enum_variant)]
enum Message {
    Event(AuditEvent),
    Flush(oneshot::Sender<()>),
}

/// The handle events are recorded through; cloning shares the one writer.
#[derive(Clone)]
pub struct Audit {
    sender: mpsc::Sender<Message>,
    /// Ends the writer's wait before the interval is over: a flush, or a channel three
    /// quarters full.
    hurry: Arc<Notify>,
    dropped: Arc<AtomicU64>,
    clock: SharedClock,
}

impl Audit {
    /// Starts the writer for `db`; it ends once every handle is dropped, after writing what
    /// it holds. Needs a Tokio runtime.
    pub fn start(db: Db, clock: SharedClock) -> Audit {
        Audit::with_capacity(db, clock, CHANNEL_CAPACITY)
    }

    /// [`Audit::start`] with a channel of `capacity` events.
    pub fn with_capacity(db: Db, clock: SharedClock, capacity: usize) -> Audit {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let hurry = Arc::new(Notify::new());
        tokio::spawn(run(db, receiver, hurry.clone(), dropped.clone()));
        Audit {
            sender,
            hurry,
            dropped,
            clock,
        }
    }

    /// Queues `event` stamped with the time and the current request; never waits.
    pub fn record(&self, mut event: AuditEvent) {
        event.at = self.clock.now();
        event.meta = EventMeta::current();
        if self.sender.try_send(Message::Event(event)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if self.sender.capacity() * 4 < self.sender.max_capacity() {
            self.hurry.notify_one();
        }
    }

    /// Waits until every event recorded before this call is logged and written (or given
    /// up on): at shutdown, at the end of a CLI command, and in tests.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        let sent = tokio::time::timeout(FLUSH_TIMEOUT, async {
            if self.sender.send(Message::Flush(done)).await.is_ok() {
                self.hurry.notify_one();
                let _ = wait.await;
            }
        })
        .await;
        if sent.is_err() {
            tracing::warn!(target: "audit", "audit events not written within {} s", FLUSH_TIMEOUT.as_secs());
        }
    }

    /// How many events were dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn run(
    db: Db,
    mut receiver: mpsc::Receiver<Message>,
    hurry: Arc<Notify>,
    dropped: Arc<AtomicU64>,
) {
    let mut batch = Vec::new();
    let mut reported_drops = 0;
    loop {
        // The one wake-up of a batch: its first event.
        if receiver.recv_many(&mut batch, CHANNEL_CAPACITY).await == 0 {
            return;
        }
        if !batch.iter().any(is_flush) {
            tokio::select! {
                () = tokio::time::sleep(BATCH_INTERVAL) => {}
                () = hurry.notified() => {}
            }
        }
        // At most two channels' worth: producers faster than this loop cannot keep it going.
        let mut closed = false;
        while batch.len() < 2 * CHANNEL_CAPACITY {
            match receiver.try_recv() {
                Ok(message) => batch.push(message),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let total = dropped.load(Ordering::Relaxed);
        if total > reported_drops {
            tracing::warn!(target: "audit", dropped = total - reported_drops, total, "audit channel full: events dropped");
            reported_drops = total;
        }
        // The batch's buffer is kept: thousands of events' worth, allocated once.
        write(&db, &mut batch).await;
        if closed {
            return;
        }
    }
}

fn is_flush(message: &Message) -> bool {
    matches!(message, Message::Flush(_))
}

/// Logs and inserts the events of `batch`, then answers its flushes; leaves `batch` empty.
async fn write(db: &Db, batch: &mut Vec<Message>) {
    let mut events = batch.iter().filter_map(|message| match message {
        Message::Event(event) => Some(event),
        Message::Flush(_) => None,
    });
    let mut rows = Vec::with_capacity(batch.len().min(ROWS_PER_TRANSACTION));
    loop {
        rows.clear();
        rows.extend(events.by_ref().take(ROWS_PER_TRANSACTION).map(log_and_row));
        if rows.is_empty() {
            break;
        }
        // One transaction per slice: a burst must not hold SQLite's write lock for long.
        insert(db, &rows).await;
    }
    drop(rows);
    for message in batch.drain(..) {
        if let Message::Flush(done) = message {
            let _ = done.send(());
        }
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
        target = %LoggedTarget(row.target),
        "audit event"
    );
    row
}

/// A target as logged: prefix and id, or `-`; written without joining them first.
struct LoggedTarget<'a>(Option<(&'static str, &'a str)>);

impl std::fmt::Display for LoggedTarget<'_> {
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
