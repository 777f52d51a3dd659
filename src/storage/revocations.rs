//! Revoked JWT access tokens (RFC 7009), by `jti`, kept until the token would have expired.
use entity::revoked_tokens::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Records a revoked JWT access token until its expiry.
pub async fn revoke_jti(
    db: &impl ConnectionTrait,
    jti: &str,
    expires_at: i64,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        jti: Set(jti.to_string()),
        expires_at: Set(expires_at),
    };
    Entity::insert(model)
        .on_conflict(OnConflict::column(Column::Jti).do_nothing().to_owned())
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

pub async fn is_jti_revoked(db: &impl ConnectionTrait, jti: &str) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id(jti.to_string()).one(db).await?.is_some())
}

/// Deletes records of tokens that have expired anyway.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::ExpiresAt.lt(now))
        .exec(db)
        .await
        .map(|_| ())
}
