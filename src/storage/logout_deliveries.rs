//! The back-channel logout outbox (see `entity::logout_deliveries`).
use entity::logout_deliveries::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

pub type Delivery = Model;

pub async fn insert(
    db: &impl ConnectionTrait,
    id: &str,
    client_id: &str,
    uri: &str,
    logout_token: &str,
    now: i64,
    give_up_at: i64,
) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(id.to_string()),
        client_id: Set(client_id.to_string()),
        uri: Set(uri.to_string()),
        logout_token: Set(logout_token.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        give_up_at: Set(give_up_at),
        last_error: Set(None),
    };
    Entity::insert(model).exec(db).await.map(|_| ())
}

/// Deliveries whose next attempt is due.
pub async fn due(db: &impl ConnectionTrait, now: i64, limit: u64) -> Result<Vec<Delivery>, DbErr> {
    Entity::find()
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<Delivery>, DbErr> {
    Entity::find_by_id(id.to_string()).one(db).await
}

/// Claims a due delivery for one attempt by moving its next attempt to `retry_at`: a
/// conditional update, so of several instances (or the CLI) polling the outbox only one
/// sends it now. False if someone else claimed it first.
pub async fn claim(
    db: &impl ConnectionTrait,
    delivery: &Delivery,
    retry_at: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
        .col_expr(Column::Attempts, Expr::value(delivery.attempts + 1))
        .filter(Column::Id.eq(delivery.id.as_str()))
        .filter(Column::NextAttemptAt.eq(delivery.next_attempt_at))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A delivery the client acknowledged: gone from the outbox.
pub async fn delivered(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(id.to_string())
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn failed(db: &impl ConnectionTrait, id: &str, error: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::LastError,
            Expr::value(error.chars().take(200).collect::<String>()),
        )
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Drops deliveries whose retry time is over; returns how many.
pub async fn give_up_expired(db: &impl ConnectionTrait, now: i64) -> Result<u64, DbErr> {
    Ok(Entity::delete_many()
        .filter(Column::GiveUpAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// How many deliveries wait.
pub async fn pending(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Entity::find().count(db).await
}
