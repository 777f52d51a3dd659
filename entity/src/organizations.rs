use sea_orm::entity::prelude::*;

/// A tenant: users belong to it, hold roles in it, and tokens speak for one at a time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    /// `org_` and random characters (the `org_id` claim); never a valid slug.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Lower-case letters, digits and `-`: what people type (`organization=acme`).
    #[sea_orm(unique)]
    pub slug: String,
    /// Display name (the `org_name` claim).
    pub name: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
