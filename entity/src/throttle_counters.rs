use sea_orm::entity::prelude::*;

/// Failed authentication attempts counted under one key (an account and address, an
/// address, or an account; the key is a hash, never the username or client id in clear),
/// shared by every instance. A row is forgotten once `expires_at` passes without a failure.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub failures: i32,
    /// When the latest failure happened; instances poll rows by it.
    #[sea_orm(indexed)]
    pub last_failure: i64,
    #[sea_orm(indexed)]
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
