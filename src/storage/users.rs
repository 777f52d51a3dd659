//! Users: local accounts.
use entity::users::{self, ActiveModel, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef,
};

use crate::types::Scopes;

pub type User = users::Model;

pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewUser, now: i64) -> Result<User, DbErr> {
    let model = ActiveModel {
        id: Set(crate::secrets::random_token(16)),
        username: Set(new.username),
        email: Set(new.email),
        email_verified: Set(new.email_verified),
        name: Set(new.name),
        password_hash: Set(new.password_hash),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Entity::insert(model).exec_with_returning(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<User>, DbErr> {
    Entity::find_by_id(id.to_string()).one(db).await
}

/// The user and the scopes they granted `client_id` (empty if none), in one query: the
/// authorization endpoint needs both on every single-sign-on request.
pub async fn find_with_consent(
    db: &impl ConnectionTrait,
    id: &str,
    client_id: &str,
) -> Result<Option<(User, Scopes)>, DbErr> {
    use entity::consents;
    let client_id = client_id.to_string();
    let consent_of_client: RelationDef = Entity::belongs_to(consents::Entity)
        .from(Column::Id)
        .to(consents::Column::UserId)
        .on_condition(move |_, consent| {
            Expr::col((consent, consents::Column::ClientId))
                .eq(client_id.clone())
                .into_condition()
        })
        .into();
    let found = Entity::find_by_id(id.to_string())
        .join(JoinType::LeftJoin, consent_of_client)
        .select_also(consents::Entity)
        .one(db)
        .await?;
    Ok(found.map(|(user, consent)| {
        let granted = consent
            .map(|c| Scopes::from_stored(&c.scope))
            .unwrap_or_default();
        (user, granted)
    }))
}

pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<User>, DbErr> {
    Entity::find()
        .filter(Column::Username.eq(username))
        .one(db)
        .await
}

/// Users whose verified email is `email` (case-insensitive).
pub async fn find_by_verified_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Vec<User>, DbErr> {
    let users = Entity::find()
        .filter(Column::EmailVerified.eq(true))
        .filter(Column::Email.is_not_null())
        .all(db)
        .await?;
    Ok(users
        .into_iter()
        .filter(|u| {
            u.email
                .as_deref()
                .map(|e| e.eq_ignore_ascii_case(email))
                .unwrap_or(false)
        })
        .collect())
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<User>, DbErr> {
    Entity::find().order_by_asc(Column::Username).all(db).await
}

/// Enables or disables a user; returns false if no such user.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    username: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Disabled, Expr::value(disabled))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Username.eq(username))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn set_password(
    db: &impl ConnectionTrait,
    username: &str,
    hash: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(hash))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Username.eq(username))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
