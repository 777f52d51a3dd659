//! When each API key was last used, recorded without a database write per request: a use
//! notes (key id, time) in a map in memory; a background task writes the map every
//! `FLUSH_INTERVAL` (one update per key used since), and the server writes it once more at
//! shutdown. `last_used_at` therefore lags by up to `FLUSH_INTERVAL`, and a crash loses at
//! most that much — never a revocation, which is read from the database on every use.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::storage::{api_keys, Db};

pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Most keys remembered between two writes; beyond that the oldest uses wait for the next.
const MAX_PENDING: usize = 100_000;

pub struct KeyUsage {
    db: Db,
    pending: Mutex<HashMap<String, i64>>,
    /// Serialises writes, so a flush that returns has written everything noted before it.
    writing: tokio::sync::Mutex<()>,
}

impl KeyUsage {
    /// Starts the periodic writer (it stops when the last handle is dropped).
    pub fn start(db: Db) -> Arc<KeyUsage> {
        let usage = Arc::new(KeyUsage {
            db,
            pending: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
        });
        let weak: Weak<KeyUsage> = Arc::downgrade(&usage);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(FLUSH_INTERVAL);
            loop {
                interval.tick().await;
                let Some(usage) = weak.upgrade() else { return };
                usage.flush().await;
            }
        });
        usage
    }

    /// Notes that key `id` was used at `at`; never waits on the database.
    pub fn note(&self, id: &str, at: i64) {
        if let Ok(mut pending) = self.pending.lock() {
            if pending.len() >= MAX_PENDING && !pending.contains_key(id) {
                return;
            }
            let entry = pending.entry(id.to_string()).or_insert(at);
            *entry = (*entry).max(at);
        }
    }

    /// Writes every use noted so far (periodically, at shutdown, and in tests).
    pub async fn flush(&self) {
        let _writing = self.writing.lock().await;
        let uses: Vec<(String, i64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return,
        };
        if uses.is_empty() {
            return;
        }
        if let Err(e) = api_keys::record_uses(&self.db, &uses).await {
            tracing::warn!(error = %e, keys = uses.len(), "cannot record when API keys were last used; retrying at the next flush");
            for (id, at) in uses {
                self.note(&id, at);
            }
        }
    }
}
