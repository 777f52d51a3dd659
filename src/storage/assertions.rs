//! Client-assertion `jti`s seen (RFC 7523 §3 replay protection), kept until the assertion
//! expires.
use entity::client_assertions::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Records a client assertion's `jti`; false if it was seen before (a replay).
pub async fn remember_assertion(
    db: &impl ConnectionTrait,
    id: &str,
    expires_at: i64,
) -> Result<bool, DbErr> {
    let model = ActiveModel {
        id: Set(id.to_string()),
        expires_at: Set(expires_at),
    };
    let result = Entity::insert(model)
        .on_conflict(OnConflict::column(Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(result == 1)
}

/// Deletes records of assertions that have expired anyway.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::ExpiresAt.lt(now))
        .exec(db)
        .await
        .map(|_| ())
}
