//! Change versions (see `entity::change_versions`): how one instance, or the CLI, tells the
//! others that shared data they cache has changed.
use entity::change_versions::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use std::sync::Weak;
use std::time::Duration;

/// How often a watcher reads its version.
pub const POLL: Duration = Duration::from_millis(100);
/// How long a writer waits so that every instance has polled the new version.
pub const VISIBLE_AFTER: Duration = Duration::from_millis(250);

/// The version of the clients table (read by `client_cache`).
pub const CLIENTS: &str = "clients";
/// The version of the signing keys (read by every instance's `jose::keys` watcher).
pub const KEYS: &str = "keys";
/// The version of the resources table (read by `resource_cache`).
pub const RESOURCES: &str = "resources";

/// The current version of `kind`; None before its first change.
pub async fn get(db: &impl ConnectionTrait, kind: &str) -> Result<Option<String>, DbErr> {
    Ok(Entity::find_by_id(kind.to_string())
        .one(db)
        .await?
        .map(|row| row.version))
}

/// Records a change of `kind`: a new random version that every poller sees as different.
pub async fn bump(db: &impl ConnectionTrait, kind: &str, now: i64) -> Result<(), DbErr> {
    let model = ActiveModel {
        kind: Set(kind.to_string()),
        version: Set(crate::secrets::random_token(12)),
        updated_at: Set(now),
    };
    Entity::insert(model)
        .on_conflict(
            OnConflict::column(Column::Kind)
                .update_columns([Column::Version, Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Keeps a cache fresh: polls the version of `kind` every [`POLL`] and calls `clear` when it
/// changes, and also when it cannot be read (unsure what changed, the cache must fall back to
/// the database). The task ends when the cache is dropped.
pub fn watch<T: Send + Sync + 'static>(
    db: DatabaseConnection,
    kind: &'static str,
    cache: Weak<T>,
    clear: fn(&T),
) {
    tokio::spawn(async move {
        let mut seen: Option<String> = None;
        let mut interval = tokio::time::interval(POLL);
        loop {
            interval.tick().await;
            let Some(cache) = cache.upgrade() else { return };
            match get(&db, kind).await {
                Ok(version) if version == seen => {}
                Ok(version) => {
                    clear(&cache);
                    seen = version;
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind, "cannot read the change version; clearing the cache");
                    clear(&cache);
                    seen = None;
                }
            }
        }
    });
}
