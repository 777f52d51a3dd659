use sea_orm::entity::prelude::*;

/// The one organization a client is restricted to: its logins and its client-credentials
/// tokens speak for that organization only, and it may introspect no other's tokens.
/// Kept beside `clients`, not in it, so the restriction is read fresh at every use.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    #[sea_orm(indexed)]
    pub organization_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
