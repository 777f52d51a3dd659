//! Users: local accounts.
use entity::users::{self, ActiveModel, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef,
};

use crate::types::Scopes;

pub type User = users::Model;

/// What usernames and verified emails are unique and matched by (case, width and surrounding
/// spaces ignored); see `entity::identity_keys`.
pub use entity::identity_keys::{email_key, username_key};

fn verified_key(email: Option<&str>, verified: bool) -> Option<String> {
    email.filter(|_| verified).map(email_key)
}

pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
}

/// Stores a new user. The database refuses a username whose key is taken (`Alice` when
/// `alice` exists); a verified email already taken is the caller's check
/// ([`find_by_verified_email`]), made where the caller can say so clearly.
pub async fn insert(db: &impl ConnectionTrait, new: NewUser, now: i64) -> Result<User, DbErr> {
    let model = ActiveModel {
        id: Set(crate::secrets::random_id()),
        username_key: Set(username_key(&new.username)),
        username: Set(new.username),
        email_key: Set(verified_key(new.email.as_deref(), new.email_verified)),
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
/// authorization endpoint needs both on every single-sign-on request. With `sid`, only while
/// that login session of the user counts (not logged out, not expired at `now`), checked in
/// the same statement.
pub async fn find_with_consent(
    db: &impl ConnectionTrait,
    id: &str,
    client_id: &str,
    sid: Option<&str>,
    now: i64,
) -> Result<Option<(User, Scopes)>, DbErr> {
    use entity::{consents, login_sessions};
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
    let mut query = Entity::find_by_id(id.to_string()).join(JoinType::LeftJoin, consent_of_client);
    if let Some(sid) = sid {
        let sid = sid.to_string();
        let live_session: RelationDef = Entity::belongs_to(login_sessions::Entity)
            .from(Column::Id)
            .to(login_sessions::Column::UserId)
            .on_condition(move |_, session| {
                crate::storage::login_sessions::counts(session, &sid, now)
            })
            .into();
        query = query.join(JoinType::InnerJoin, live_session);
    }
    let found = query.select_also(consents::Entity).one(db).await?;
    Ok(found.map(|(user, consent)| {
        let granted = consent
            .map(|c| Scopes::from_stored(&c.scope))
            .unwrap_or_default();
        (user, granted)
    }))
}

/// The user `username` names, matched by key: `ALICE` and ` alice ` find `alice`.
pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<User>, DbErr> {
    Entity::find()
        .filter(Column::UsernameKey.eq(username_key(username)))
        .one(db)
        .await
}

/// Users whose verified email is `email` (case-insensitive): at most one for users created
/// since emails were made unique, possibly several from before (linking refuses those).
pub async fn find_by_verified_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Vec<User>, DbErr> {
    Entity::find()
        .filter(Column::EmailKey.eq(email_key(email)))
        .filter(Column::EmailVerified.eq(true))
        .limit(10)
        .all(db)
        .await
}

/// Sets the display name (the `name` claim); None clears it. False if no such user.
pub async fn set_name(
    db: &impl ConnectionTrait,
    id: &str,
    name: Option<&str>,
    now: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Name, Expr::value(name.map(str::to_string)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces the password hash of user `id` if it is still `old` (the one the current
/// password was checked against), so two changes racing cannot both win.
pub async fn replace_password(
    db: &impl ConnectionTrait,
    id: &str,
    old: &str,
    new: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(new))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::PasswordHash.eq(old))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
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
        .filter(Column::UsernameKey.eq(username_key(username)))
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
        .filter(Column::UsernameKey.eq(username_key(username)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
