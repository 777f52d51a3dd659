//! API keys: one row per key, found by the keyed hash of the key on every use (a unique
//! index), revoked in place so that the list keeps showing what existed. The rules (format,
//! hashing, who may hold which scopes) are in `crate::apikeys`.
use entity::api_keys::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub type ApiKeyRow = Model;

/// Whose keys to list.
#[derive(Clone, Debug, Default)]
pub struct Owner {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, row: Model) -> Result<(), DbErr> {
    let model = ActiveModel {
        id: Set(row.id),
        key_hash: Set(row.key_hash),
        prefix: Set(row.prefix),
        name: Set(row.name),
        user_id: Set(row.user_id),
        client_id: Set(row.client_id),
        organization_id: Set(row.organization_id),
        scope: Set(row.scope),
        created_at: Set(row.created_at),
        expires_at: Set(row.expires_at),
        last_used_at: Set(row.last_used_at),
        revoked_at: Set(row.revoked_at),
    };
    Entity::insert(model)
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The key whose hash is `key_hash`, revoked and expired ones included (the caller decides).
pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::KeyHash.eq(key_hash))
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_string()).one(db).await
}

/// Keys of `owner` (all keys when it names nobody), oldest first.
pub async fn list(db: &impl ConnectionTrait, owner: &Owner) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id);
    if let Some(user_id) = &owner.user_id {
        query = query.filter(Column::UserId.eq(user_id.as_str()));
    }
    if let Some(client_id) = &owner.client_id {
        query = query.filter(Column::ClientId.eq(client_id.as_str()));
    }
    query.all(db).await
}

/// Revokes the key `id` (of `user_id` only, when given: the account page revokes a user's
/// own keys). False if there is no such live key. One conditional update: from its commit on
/// every use of the key, on every instance, is refused.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RevokedAt.is_null());
    if let Some(user_id) = user_id {
        update = update.filter(Column::UserId.eq(user_id));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Records the last use of each key in `uses` (id, time): never moves a time backwards, so
/// instances flushing in any order agree.
pub async fn record_uses(db: &impl ConnectionTrait, uses: &[(String, i64)]) -> Result<(), DbErr> {
    for (id, at) in uses {
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(*at))
            .filter(Column::Id.eq(id.as_str()))
            .filter(
                Condition::any()
                    .add(Column::LastUsedAt.is_null())
                    .add(Column::LastUsedAt.lt(*at)),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}
