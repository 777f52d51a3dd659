//! Authorization codes: stored by hash, redeemed once.
use entity::authorization_codes::{self, ActiveModel, Column, Entity};
use entity::users;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QuerySelect, RelationDef,
};

use super::families::{self, NewFamily};
use super::users::User;

pub type Code = authorization_codes::Model;

pub async fn insert(db: &impl ConnectionTrait, code: Code) -> Result<(), DbErr> {
    let model = ActiveModel {
        code_hash: Set(code.code_hash),
        client_id: Set(code.client_id),
        user_id: Set(code.user_id),
        redirect_uri: Set(code.redirect_uri),
        scope: Set(code.scope),
        nonce: Set(code.nonce),
        code_challenge: Set(code.code_challenge),
        auth_time: Set(code.auth_time),
        amr: Set(code.amr),
        idp: Set(code.idp),
        expires_at: Set(code.expires_at),
        used_at: Set(None),
        family_id: Set(None),
        sid: Set(code.sid),
        organization_id: Set(code.organization_id),
    };
    Entity::insert(model).exec(db).await.map(|_| ())
}

pub async fn find(db: &impl ConnectionTrait, code_hash: &str) -> Result<Option<Code>, DbErr> {
    if code_hash.is_empty() {
        return Ok(None);
    }
    Entity::find_by_id(code_hash.to_string()).one(db).await
}

/// The code and its user (if the user still exists), in one query: the token endpoint needs
/// both for every code it redeems.
pub async fn find_with_user(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<(Code, Option<User>)>, DbErr> {
    if code_hash.is_empty() {
        return Ok(None);
    }
    let its_user: RelationDef = Entity::belongs_to(users::Entity)
        .from(Column::UserId)
        .to(users::Column::Id)
        .into();
    Entity::find_by_id(code_hash.to_string())
        .join(JoinType::LeftJoin, its_user)
        .select_also(users::Entity)
        .one(db)
        .await
}

/// Redeems a code exactly once and creates the token family for what it issues. The family
/// is stored first, then the code is marked used — pointing at it — only if it was unused:
/// a conditional update, so two instances racing on one code get one winner. Two
/// autocommit statements instead of a transaction (half the round trips, and SQLite's write
/// lock held for one statement at a time): a family no code points at issues nothing, and a
/// losing racer deletes its own. Returns the family id, or `None` if the code had already
/// been used — the caller then treats it as a replay.
pub async fn redeem(
    db: &impl ConnectionTrait,
    code: &Code,
    now: i64,
    family_expires_at: i64,
    idle_expires_at: i64,
) -> Result<Option<String>, DbErr> {
    let family_id = crate::secrets::random_token(16);
    families::insert_family(
        db,
        NewFamily {
            id: family_id.clone(),
            client_id: code.client_id.clone(),
            user_id: code.user_id.clone(),
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            idp: code.idp.clone(),
            expires_at: family_expires_at,
            idle_expires_at,
            sid: code.sid.clone(),
            organization_id: code.organization_id.clone(),
        },
        now,
    )
    .await?;
    let updated = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .col_expr(Column::FamilyId, Expr::value(family_id.clone()))
        .filter(Column::CodeHash.eq(code.code_hash.as_str()))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        families::delete_family(db, &family_id).await?;
        return Ok(None);
    }
    Ok(Some(family_id))
}

/// A used code was presented again: revoke every token it issued (RFC 6749 §4.1.2).
pub async fn revoke_issued(
    db: &impl ConnectionTrait,
    code_hash: &str,
    now: i64,
) -> Result<(), DbErr> {
    if let Some(code) = find(db, code_hash).await? {
        if let Some(family) = &code.family_id {
            families::revoke_family(db, family, now).await?;
        }
    }
    Ok(())
}

/// Deletes codes that expired more than a day ago (replays of older codes are harmless:
/// their tokens have long expired or been rotated).
pub async fn purge_expired(db: &impl ConnectionTrait, now: i64) -> Result<u64, DbErr> {
    let result = Entity::delete_many()
        .filter(Column::ExpiresAt.lt(now - 86_400))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
