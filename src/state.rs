//! Shared application state, cloned into every handler.
use std::sync::Arc;

use crate::accounts::password::Passwords;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::jose::keys::Keys;
use crate::storage::Db;

/// Shared application state. Handlers get a clone per request, so it is one `Arc`: a clone is
/// one reference-count increment, not one per field (measured at 2 % of the CPU of a
/// client-credentials grant when it was nine). Fields are read through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
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
    /// Registered resources in memory; see `storage::resource_cache`.
    pub resources: Arc<crate::storage::resource_cache::ResourceCache>,
    /// When API keys were last used, written in batches (see `apikeys::usage`).
    pub api_key_usage: Arc<crate::apikeys::usage::KeyUsage>,
    /// Open dynamic registrations this minute (`TESSERA_REGISTRATION=open`).
    pub registrations: crate::clients::registration::RateLimit,
    /// Every origin some client allows, for CORS preflights.
    pub cors: crate::oauth::cors::OriginIndex,
    /// Keys of clients that registered a `jwks_uri`.
    pub client_jwks: crate::oauth::client_jwks::ClientJwks,
    /// Brute-force limits on the login form and client authentication.
    pub throttle: crate::throttle::Throttle,
    /// Refresh-token rotations (batched on SQLite: see `storage::rotations`).
    pub rotations: crate::storage::rotations::Rotations,
    /// The audit log's writer (see `audit`).
    pub audit: crate::audit::Audit,
    /// This instance's metrics, served by the admin listener.
    pub metrics: Arc<crate::telemetry::Metrics>,
    /// The brand and the files the pages load (read once at start).
    pub assets: Arc<crate::views::assets::Assets>,
}

impl AppState {
    /// `throttle_store` holds the brute-force counters (the database or Redis).
    pub fn new(
        db: Db,
        keys: Arc<Keys>,
        clock: SharedClock,
        settings: Settings,
        throttle_store: crate::throttle::Store,
        assets: crate::views::assets::Assets,
    ) -> AppState {
        let settings = Arc::new(settings);
        AppState(Arc::new(Shared {
            discovery: Arc::new(crate::oauth::discovery::Documents::build(&settings)),
            passwords: Passwords::new(settings.password_concurrency, settings.password_queue),
            throttle: crate::throttle::Throttle::start(
                settings.throttle_policy(),
                throttle_store,
                clock.clone(),
            ),
            federation: Arc::new(crate::federation::Federation::new(keys.clone())),
            clients: crate::storage::client_cache::ClientCache::start(db.clone()),
            resources: crate::storage::resource_cache::ResourceCache::start(db.clone()),
            api_key_usage: crate::apikeys::usage::KeyUsage::start(db.clone()),
            registrations: Default::default(),
            cors: Default::default(),
            client_jwks: crate::oauth::client_jwks::ClientJwks::new(
                settings.allow_private_callbacks,
            ),
            audit: crate::audit::Audit::start(db.clone(), clock.clone()),
            rotations: crate::storage::rotations::Rotations::start(db.clone()),
            metrics: Default::default(),
            assets: Arc::new(assets),
            db,
            keys,
            clock,
            settings,
        }))
    }
}
