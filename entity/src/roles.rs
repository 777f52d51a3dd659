use sea_orm::entity::prelude::*;

/// A role that can be granted (`admin`, `billing:read`): defined once, granted to users,
/// groups and clients by `role_grants`, globally or within one organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    /// The name tokens carry in the roles claim; unique by being the key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
