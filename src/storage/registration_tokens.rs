//! RFC 7591 initial access tokens: made by the CLI, each good for a number of registrations
//! until it expires. Only their SHA-256 is stored.
use entity::registration_tokens::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub type RegistrationToken = Model;

/// Why a presented initial access token does not allow a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired,
    UsedUp,
}

pub async fn insert(db: &impl ConnectionTrait, token: Model) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(token.id),
        token_hash: Set(token.token_hash),
        uses_left: Set(token.uses_left),
        expires_at: Set(token.expires_at),
        created_at: Set(token.created_at),
    };
    Entity::insert(model).exec(db).await.map(|_| ())
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find().order_by_asc(Column::CreatedAt).all(db).await
}

/// Deletes a token: it allows no registration from now on. False if there is no such id.
pub async fn revoke(db: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Whether the token would allow a registration now (without using it up).
pub async fn check(
    db: &impl ConnectionTrait,
    hash: &str,
    now: i64,
) -> Result<Result<(), Refused>, DbErr> {
    let found = Entity::find()
        .filter(Column::TokenHash.eq(hash))
        .one(db)
        .await?;
    Ok(match found {
        None => Err(Refused::Unknown),
        Some(t) if t.expires_at <= now => Err(Refused::Expired),
        Some(t) if t.uses_left <= 0 => Err(Refused::UsedUp),
        Some(_) => Ok(()),
    })
}

/// Uses the token for one registration: one conditional update, so that concurrent
/// registrations on every instance never use it more often than it allows.
pub async fn consume(
    db: &impl ConnectionTrait,
    hash: &str,
    now: i64,
) -> Result<Result<(), Refused>, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::UsesLeft, Expr::col(Column::UsesLeft).sub(1))
        .filter(Column::TokenHash.eq(hash))
        .filter(Column::UsesLeft.gt(0))
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if result.rows_affected == 1 {
        return Ok(Ok(()));
    }
    Ok(match check(db, hash, now).await? {
        Ok(()) => Err(Refused::UsedUp),
        refused => refused,
    })
}
