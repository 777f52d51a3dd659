use sea_orm::entity::prelude::*;

/// The outbox of back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5): written in
/// the same request that ends a session, sent in the background, retried with backoff until
/// `give_up_at`, so a restart loses none.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "logout_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub uri: String,
    /// The signed logout token (a JWT naming a session; it grants nothing).
    #[sea_orm(column_type = "Text")]
    pub logout_token: String,
    pub attempts: i32,
    #[sea_orm(indexed)]
    pub next_attempt_at: i64,
    pub give_up_at: i64,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
