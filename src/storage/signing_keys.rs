//! Signing keys and their states (see `entity::signing_keys`). Every state change is a
//! conditional update, so when several instances (or the CLI) try the same change at once,
//! exactly one succeeds; callers learn which from the returned flag.
use entity::signing_keys::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};

pub type SigningKeyRow = Model;

pub const NEXT: &str = "next";
pub const ACTIVE: &str = "active";
pub const RETIRING: &str = "retiring";
pub const RETIRED: &str = "retired";

/// Every key, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Kid)
        .all(db)
        .await
}

/// The keys in the JWKS: next, active and retiring.
pub async fn published(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::State.is_in([NEXT, ACTIVE, RETIRING]))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Kid)
        .all(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, kid: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(kid.to_string()).one(db).await
}

/// A new key. `state` is `next` (with `activate_at`) or `active`. Inserting a second active
/// key of an algorithm fails on the unique index: the caller lost a race.
pub async fn insert(
    db: &impl ConnectionTrait,
    kid: &str,
    alg: &str,
    state: &str,
    sealed_private_key: &str,
    activate_at: Option<i64>,
    now: i64,
) -> Result<(), DbErr> {
    let active = state == ACTIVE;
    let model = ActiveModel {
        kid: Set(kid.to_string()),
        alg: Set(alg.to_string()),
        state: Set(state.to_string()),
        private_key: Set(sealed_private_key.to_string()),
        created_at: Set(now),
        activate_at: Set(activate_at),
        activated_at: Set(active.then_some(now)),
        retiring_since: Set(None),
        retired_at: Set(None),
        rotation_started_at: Set(None),
    };
    Entity::insert(model).exec_without_returning(db).await?;
    Ok(())
}

/// Claims the right to create the successor of the active key `kid`: true for exactly one
/// caller until that successor becomes active.
pub async fn start_rotation(db: &impl ConnectionTrait, kid: &str, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RotationStartedAt, Expr::value(now))
        .filter(Column::Kid.eq(kid))
        .filter(Column::State.eq(ACTIVE))
        .filter(Column::RotationStartedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives up a claim of [`start_rotation`] (the successor could not be stored).
pub async fn cancel_rotation(db: &impl ConnectionTrait, kid: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RotationStartedAt, Expr::value(Option::<i64>::None))
        .filter(Column::Kid.eq(kid))
        .exec(db)
        .await
        .map(|_| ())
}

/// Makes the `next` key `kid` active and the active key of its algorithm retiring, in one
/// transaction. True for exactly one caller; false if the key is no longer `next` (another
/// instance promoted it first).
pub async fn promote(
    db: &DatabaseConnection,
    kid: &str,
    alg: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    // Claim the promotion first: the loser of a race stops here, changing nothing.
    let claimed = Entity::update_many()
        .col_expr(Column::ActivateAt, Expr::value(now))
        .filter(Column::Kid.eq(kid))
        .filter(Column::State.eq(NEXT))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    // The old active key first, so that the unique index never sees two.
    Entity::update_many()
        .col_expr(Column::State, Expr::value(RETIRING))
        .col_expr(Column::RetiringSince, Expr::value(now))
        .filter(Column::Alg.eq(alg))
        .filter(Column::State.eq(ACTIVE))
        .exec(&txn)
        .await?;
    Entity::update_many()
        .col_expr(Column::State, Expr::value(ACTIVE))
        .col_expr(Column::ActivatedAt, Expr::value(now))
        .filter(Column::Kid.eq(kid))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Retires the retiring key `kid`: it leaves the JWKS and its private key is erased (it
/// will never sign again). False if it is not retiring.
pub async fn retire(db: &impl ConnectionTrait, kid: &str, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::State, Expr::value(RETIRED))
        .col_expr(Column::PrivateKey, Expr::value(""))
        .col_expr(Column::RetiredAt, Expr::value(now))
        .filter(Column::Kid.eq(kid))
        .filter(Column::State.eq(RETIRING))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces a key's sealed private key (master-key rotation), if it is still `old`.
pub async fn reseal(
    db: &impl ConnectionTrait,
    kid: &str,
    old: &str,
    new: &str,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::PrivateKey, Expr::value(new))
        .filter(Column::Kid.eq(kid))
        .filter(Column::PrivateKey.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
