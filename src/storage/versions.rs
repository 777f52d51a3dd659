//! Change versions (see `entity::change_versions`): how one instance, or the CLI, tells the
//! others that shared data they cache has changed.
use entity::change_versions::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

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
