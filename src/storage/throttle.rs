//! Failed-authentication counters in the database, shared by every instance. Only failures
//! write (one statement for all of an attempt's counters); a success deletes a counter only
//! if one was read.
use entity::throttle_counters::{ActiveModel, Column, Entity};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// One counter as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub failures: u32,
    pub last_failure: i64,
    pub expires_at: i64,
}

impl From<entity::throttle_counters::Model> for Counter {
    fn from(m: entity::throttle_counters::Model) -> Self {
        Counter {
            key: m.key,
            failures: m.failures.max(0) as u32,
            last_failure: m.last_failure,
            expires_at: m.expires_at,
        }
    }
}

/// The counters under `keys` (absent ones are not returned).
pub async fn read(db: &impl ConnectionTrait, keys: &[String]) -> Result<Vec<Counter>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Key.is_in(keys.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(Counter::from)
        .collect())
}

/// Counts one failure at `now` under each of `keys`, in one statement: a counter whose time
/// ran out starts again at 1, so an old failure never adds to a new one. Each counter is
/// then remembered until `now + window`.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    keys: &[String],
    now: i64,
    window: i64,
) -> Result<(), DbErr> {
    if keys.is_empty() {
        return Ok(());
    }
    let rows = keys.iter().map(|key| ActiveModel {
        key: Set(key.clone()),
        failures: Set(1),
        last_failure: Set(now),
        expires_at: Set(now + window),
    });
    // Both PostgreSQL and SQLite name the existing row by its table, the new one `excluded`.
    let failures = Expr::cust(
        "CASE WHEN throttle_counters.expires_at <= excluded.last_failure THEN 1 \
         WHEN throttle_counters.failures >= 1000000 THEN throttle_counters.failures \
         ELSE throttle_counters.failures + 1 END",
    );
    Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(Column::Key)
                .value(Column::Failures, failures)
                .update_columns([Column::LastFailure, Column::ExpiresAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Forgets the counter under `key` (a success).
pub async fn reset(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(key.to_string())
        .exec(db)
        .await
        .map(|_| ())
}

/// The keys of counters with a failure after `since`, newest first, at most `limit`: what
/// every instance polls to know which counters it must read.
pub async fn recent(
    db: &impl ConnectionTrait,
    since: i64,
    limit: u64,
) -> Result<Vec<(String, i64)>, DbErr> {
    Ok(Entity::find()
        .filter(Column::LastFailure.gt(since))
        .order_by_desc(Column::LastFailure)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.key, m.last_failure))
        .collect())
}

/// Deletes counters whose time ran out.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::ExpiresAt.lte(now))
        .exec(db)
        .await
        .map(|_| ())
}
