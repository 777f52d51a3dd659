//! Shared application state, cloned into every handler.
use std::sync::Arc;

use crate::accounts::password::Passwords;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::jose::keys::Keys;
use crate::storage::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<Keys>,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub passwords: Passwords,
    /// Discovery documents, serialized once at start.
    pub discovery: Arc<crate::oauth::discovery::Documents>,
    pub federation: Arc<crate::federation::Federation>,
    /// Clients in memory; see `storage::client_cache` for how changes reach it.
    pub clients: Arc<crate::storage::client_cache::ClientCache>,
}

impl AppState {
    pub fn new(db: Db, keys: Arc<Keys>, clock: SharedClock, settings: Settings) -> AppState {
        let settings = Arc::new(settings);
        AppState {
            discovery: Arc::new(crate::oauth::discovery::Documents::build(&settings)),
            passwords: Passwords::new(settings.password_concurrency),
            federation: Arc::new(crate::federation::Federation::default()),
            clients: crate::storage::client_cache::ClientCache::start(db.clone()),
            db,
            keys,
            clock,
            settings,
        }
    }
}
