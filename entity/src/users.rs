use sea_orm::entity::prelude::*;

/// A local account. `id` is the stable `sub`; federated-only users have no password hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The name as the person typed it (trimmed), shown everywhere.
    #[sea_orm(unique)]
    pub username: String,
    /// `identity_keys::username_key(username)`: what sign-in matches and what is unique, so
    /// `Alice` and `alice` are one account.
    #[sea_orm(unique)]
    pub username_key: String,
    pub email: Option<String>,
    /// `identity_keys::email_key(email)` while the email is verified, else None: a verified
    /// email belongs to one user (checked when a user is created or linked).
    #[sea_orm(indexed)]
    pub email_key: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
