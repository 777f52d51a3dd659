//! Token families (one per authorization) and their rotating refresh tokens; revoked
//! access-token identifiers.
use entity::{refresh_tokens, revoked_tokens, token_families};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};

pub type Family = token_families::Model;
pub type RefreshToken = refresh_tokens::Model;

pub struct NewFamily {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub idp: Option<String>,
    pub expires_at: i64,
}

pub async fn insert_family(db: &impl ConnectionTrait, f: NewFamily, now: i64) -> Result<(), DbErr> {
    let model = token_families::ActiveModel {
        id: Set(f.id),
        client_id: Set(f.client_id),
        user_id: Set(f.user_id),
        scope: Set(f.scope),
        auth_time: Set(f.auth_time),
        amr: Set(f.amr),
        idp: Set(f.idp),
        created_at: Set(now),
        expires_at: Set(f.expires_at),
        revoked_at: Set(None),
    };
    token_families::Entity::insert(model)
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn find_family(db: &impl ConnectionTrait, id: &str) -> Result<Option<Family>, DbErr> {
    token_families::Entity::find_by_id(id.to_string())
        .one(db)
        .await
}

/// Revokes a family: every refresh token in it and every access token carrying its id.
pub async fn revoke_family(db: &impl ConnectionTrait, id: &str, now: i64) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::Id.eq(id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn revoke_for_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::ClientId.eq(client_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn revoke_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    token_families::Entity::update_many()
        .col_expr(token_families::Column::RevokedAt, Expr::value(now))
        .filter(token_families::Column::UserId.eq(user_id))
        .filter(token_families::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn insert_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
    family_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbErr> {
    let model = refresh_tokens::ActiveModel {
        token_hash: Set(token_hash.to_string()),
        family_id: Set(family_id.to_string()),
        client_id: Set(client_id.to_string()),
        scope: Set(scope.to_string()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    };
    refresh_tokens::Entity::insert(model)
        .exec(db)
        .await
        .map(|_| ())
}

pub async fn find_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(RefreshToken, Family)>, DbErr> {
    let Some(token) = refresh_tokens::Entity::find_by_id(token_hash.to_string())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(find_family(db, &token.family_id)
        .await?
        .map(|family| (token, family)))
}

/// Rotates a refresh token: marks `old_hash` used and stores `new_hash` in one transaction.
/// The update is conditional on the old token being unused, so among concurrent rotations
/// of one token — on any number of instances — exactly one returns `true`.
pub async fn rotate(
    db: &sea_orm::DatabaseConnection,
    old: &RefreshToken,
    new_hash: &str,
    scope: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let updated = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::TokenHash.eq(old.token_hash.as_str()))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    insert_refresh(
        &txn,
        new_hash,
        &old.family_id,
        &old.client_id,
        scope,
        now,
        expires_at,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// When `old_hash` was rotated away, if it was.
pub async fn used_at(db: &impl ConnectionTrait, token_hash: &str) -> Result<Option<i64>, DbErr> {
    Ok(refresh_tokens::Entity::find_by_id(token_hash.to_string())
        .one(db)
        .await?
        .and_then(|t| t.used_at))
}

/// Records a revoked JWT access token until its expiry.
pub async fn revoke_jti(
    db: &impl ConnectionTrait,
    jti: &str,
    expires_at: i64,
) -> Result<(), DbErr> {
    let model = revoked_tokens::ActiveModel {
        jti: Set(jti.to_string()),
        expires_at: Set(expires_at),
    };
    revoked_tokens::Entity::insert(model)
        .on_conflict(
            OnConflict::column(revoked_tokens::Column::Jti)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

pub async fn is_jti_revoked(db: &impl ConnectionTrait, jti: &str) -> Result<bool, DbErr> {
    Ok(revoked_tokens::Entity::find_by_id(jti.to_string())
        .one(db)
        .await?
        .is_some())
}

/// Whether an access token's family (if it has one) is still live.
pub async fn is_family_live(db: &impl ConnectionTrait, family_id: &str) -> Result<bool, DbErr> {
    Ok(find_family(db, family_id)
        .await?
        .map(|f| f.revoked_at.is_none())
        .unwrap_or(false))
}

/// Deletes rows no token check can need any more.
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<(), DbErr> {
    revoked_tokens::Entity::delete_many()
        .filter(revoked_tokens::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(now - 86_400))
        .exec(db)
        .await?;
    entity::client_assertions::Entity::delete_many()
        .filter(entity::client_assertions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a client assertion's `jti`; false if it was seen before (a replay).
pub async fn remember_assertion(
    db: &impl ConnectionTrait,
    id: &str,
    expires_at: i64,
) -> Result<bool, DbErr> {
    use entity::client_assertions;
    let model = client_assertions::ActiveModel {
        id: Set(id.to_string()),
        expires_at: Set(expires_at),
    };
    let result = client_assertions::Entity::insert(model)
        .on_conflict(
            OnConflict::column(client_assertions::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(result == 1)
}
