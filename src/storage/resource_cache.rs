//! The registered resources in memory: read on every token request that names a `resource`
//! and every introspection, so they are cached whole (a deployment has a handful). Every
//! change writes a new `versions::RESOURCES`; each instance polls it every `POLL` and drops
//! its copy when it changes, and the CLI waits `VISIBLE_AFTER` before returning — as for
//! clients (`client_cache`).
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use sea_orm::{DatabaseConnection, DbErr};

use super::resources::{self, ResourceRow};

pub use super::versions::{POLL, VISIBLE_AFTER};

#[derive(Default)]
pub struct ResourceCache {
    current: RwLock<Option<Arc<Vec<ResourceRow>>>>,
    /// Bumped by every clear, so a read that began before a change never stores its rows.
    generation: AtomicU64,
}

impl ResourceCache {
    /// A cache kept fresh by a background task that polls the version (stops when dropped).
    pub fn start(db: DatabaseConnection) -> Arc<ResourceCache> {
        let cache = Arc::new(ResourceCache::default());
        super::versions::watch(
            db,
            super::versions::RESOURCES,
            Arc::downgrade(&cache),
            Self::clear,
        );
        cache
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut current) = self.current.write() {
            *current = None;
        }
    }

    /// Every registered resource, from memory if loaded since the last change.
    pub async fn all(&self, db: &DatabaseConnection) -> Result<Arc<Vec<ResourceRow>>, DbErr> {
        if let Ok(current) = self.current.read() {
            if let Some(rows) = current.as_ref() {
                return Ok(rows.clone());
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let rows = Arc::new(resources::list(db).await?);
        if let Ok(mut current) = self.current.write() {
            if self.generation.load(Ordering::SeqCst) == generation {
                *current = Some(rows.clone());
            }
        }
        Ok(rows)
    }
}
