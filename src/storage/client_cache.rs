//! Clients cached in memory, so the token endpoint needs no database read to authenticate a
//! client. Every change to a client (CLI or server) writes a new random version of
//! `versions::CLIENTS` in the database; each instance polls it every `POLL` and drops its whole
//! cache when it changes, and the CLI waits `VISIBLE_AFTER` before returning. So once a CLI command that
//! changed a client has returned, every running instance sees the change.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr};

use super::clients::{self, Client};

pub use super::versions::{POLL, VISIBLE_AFTER};
/// Entries are re-read at least this often even without a version change.
const MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (Arc<Client>, Instant)>>,
    /// Bumped by every [`ClientCache::clear`]: what is derived from all clients (the CORS
    /// origin index) is rebuilt when it changes.
    generation: AtomicU64,
}

impl ClientCache {
    /// A cache kept fresh by a background task that polls the version (stops when dropped).
    pub fn start(db: DatabaseConnection) -> Arc<ClientCache> {
        let cache = Arc::new(ClientCache::default());
        super::versions::watch(
            db,
            super::versions::CLIENTS,
            Arc::downgrade(&cache),
            Self::clear,
        );
        cache
    }

    pub fn clear(&self) {
        // Bumped before the entries go, so a reader that sees the new generation never
        // rebuilds from entries of the old one.
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Changes whenever a client may have changed (on this instance or any other, within
    /// one poll).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The client, from memory if fresh, else from the database. Unknown ids are not cached,
    /// so a new client works at once.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, DbErr> {
        if let Ok(entries) = self.entries.read() {
            if let Some((client, at)) = entries.get(client_id) {
                if at.elapsed() < MAX_AGE {
                    return Ok(Some(client.clone()));
                }
            }
        }
        let Some(client) = clients::find(db, client_id).await? else {
            return Ok(None);
        };
        let client = Arc::new(client);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() > 100_000 {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (client.clone(), Instant::now()));
        }
        Ok(Some(client))
    }
}
