//! Upstream OpenID providers and the identities linked through them.
use entity::{upstream_identities, upstreams};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

pub type Upstream = upstreams::Model;

pub async fn insert(db: &impl ConnectionTrait, upstream: Upstream) -> Result<(), DbErr> {
    let model = upstreams::ActiveModel {
        name: Set(upstream.name),
        preset: Set(upstream.preset),
        issuer: Set(upstream.issuer),
        client_id: Set(upstream.client_id),
        client_secret: Set(upstream.client_secret),
        scopes: Set(upstream.scopes),
        hosted_domain: Set(upstream.hosted_domain),
        created_at: Set(upstream.created_at),
    };
    upstreams::Entity::insert(model).exec(db).await.map(|_| ())
}

pub async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<Upstream>, DbErr> {
    upstreams::Entity::find_by_id(name.to_string())
        .one(db)
        .await
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Upstream>, DbErr> {
    upstreams::Entity::find()
        .order_by_asc(upstreams::Column::Name)
        .all(db)
        .await
}

pub async fn remove(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    let result = upstreams::Entity::delete_many()
        .filter(upstreams::Column::Name.eq(name))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The local user linked to an upstream identity (issuer, sub).
pub async fn find_identity(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        upstream_identities::Entity::find_by_id((issuer.to_string(), subject.to_string()))
            .one(db)
            .await?
            .map(|i| i.user_id),
    )
}

pub async fn link_identity(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
    user_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    let model = upstream_identities::ActiveModel {
        issuer: Set(issuer.to_string()),
        subject: Set(subject.to_string()),
        user_id: Set(user_id.to_string()),
        created_at: Set(now),
    };
    upstream_identities::Entity::insert(model)
        .exec(db)
        .await
        .map(|_| ())
}

/// Replaces an upstream's stored client secret if it is still `old` (sealing in place,
/// master-key rotation).
pub async fn replace_client_secret_if(
    db: &impl ConnectionTrait,
    name: &str,
    old: &str,
    new: &str,
) -> Result<bool, DbErr> {
    let result = upstreams::Entity::update_many()
        .col_expr(
            upstreams::Column::ClientSecret,
            sea_orm::sea_query::Expr::value(new),
        )
        .filter(upstreams::Column::Name.eq(name))
        .filter(upstreams::Column::ClientSecret.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub type LinkedIdentity = upstream_identities::Model;

/// The upstream identities linked to `user_id`, oldest first.
pub async fn identities_of(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<LinkedIdentity>, DbErr> {
    upstream_identities::Entity::find()
        .filter(upstream_identities::Column::UserId.eq(user_id))
        .order_by_asc(upstream_identities::Column::CreatedAt)
        .all(db)
        .await
}

/// Removes the link (issuer, subject) if it is `user_id`'s; true if it was.
pub async fn unlink_identity(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
    user_id: &str,
) -> Result<bool, DbErr> {
    let result = upstream_identities::Entity::delete_many()
        .filter(upstream_identities::Column::Issuer.eq(issuer))
        .filter(upstream_identities::Column::Subject.eq(subject))
        .filter(upstream_identities::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
