//! Consents: the scopes a user granted a client, remembered for next time.
use entity::consents::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::types::Scopes;

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
) -> Result<Scopes, DbErr> {
    Ok(
        Entity::find_by_id((user_id.to_string(), client_id.to_string()))
            .one(db)
            .await?
            .map(|c| Scopes::from_stored(&c.scope))
            .unwrap_or_default(),
    )
}

/// Adds `scopes` to what the user already granted the client.
pub async fn grant(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
    scopes: &Scopes,
    now: i64,
) -> Result<(), DbErr> {
    let all = find(db, user_id, client_id).await?.union(scopes);
    let model = ActiveModel {
        user_id: Set(user_id.to_string()),
        client_id: Set(client_id.to_string()),
        scope: Set(all.to_string()),
        updated_at: Set(now),
    };
    Entity::insert(model)
        .on_conflict(
            OnConflict::columns([Column::UserId, Column::ClientId])
                .update_columns([Column::Scope, Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Forgets what the user granted the client; true if there was a consent.
pub async fn withdraw(
    db: &impl ConnectionTrait,
    user_id: &str,
    client_id: &str,
) -> Result<bool, DbErr> {
    Ok(
        Entity::delete_by_id((user_id.to_string(), client_id.to_string()))
            .exec(db)
            .await?
            .rows_affected
            > 0,
    )
}

pub type Consent = entity::consents::Model;

/// Every consent `user_id` gave, most recently granted first (the account page's apps).
pub async fn list_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<Consent>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    Entity::find()
        .filter(Column::UserId.eq(user_id))
        .order_by_desc(Column::UpdatedAt)
        .limit(500)
        .all(db)
        .await
}
