use sea_orm::entity::prelude::*;

/// A protected resource (RFC 8707 resource indicator) registered with `tessera resource add`:
/// tokens requested for it carry its URI in `aud`, the clients listed may introspect them,
/// and its scopes are granted only in tokens meant for it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "resources")]
pub struct Model {
    /// The resource indicator: an absolute URI without a fragment.
    #[sea_orm(primary_key, auto_increment = false)]
    pub uri: String,
    pub name: Option<String>,
    /// Space-separated scopes that belong to this resource.
    pub scopes: String,
    /// Space-separated client ids that may introspect tokens meant for this resource.
    pub introspecting_clients: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
