use sea_orm::entity::prelude::*;

/// A sign-in of a user in one browser: the OIDC `sid`. The browser's cookie session points
/// at it; codes and token families issued during it carry its id, so logging out can end
/// exactly what this sign-in started, and tell the apps that took part.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sid: String,
    #[sea_orm(indexed)]
    pub user_id: String,
    pub auth_time: i64,
    pub created_at: i64,
    /// The client address and user agent it started from (shown to the user, never secret).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Set when the user (or an operator) logged it out; it then counts as no login.
    pub ended_at: Option<i64>,
    /// When it stops counting anyway (the browser-session lifetime).
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
