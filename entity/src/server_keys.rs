use sea_orm::entity::prelude::*;

/// Key material every instance must share: the signing keys (PEM) and the client-secret
/// HMAC key. One row per purpose; the first instance to start inserts it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub purpose: String,
    #[sea_orm(column_type = "Text")]
    pub material: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
