use sea_orm::entity::prelude::*;

/// Retired: refresh tokens of the first schema, stored by the SHA-256 of their value. Only
/// the first migration still creates the table; the third drops it (refresh tokens now
/// live in `token_families`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    #[sea_orm(indexed)]
    pub family_id: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    /// Idle expiry.
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
