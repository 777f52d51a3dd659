use sea_orm::entity::prelude::*;

/// A role held by a user, a group (every member holds it) or a client (its
/// `client_credentials` tokens), globally or within one organization. The key is the whole
/// row, so granting the same role twice is impossible rather than a duplicate to clean up.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub role_name: String,
    /// `user`, `group` or `client`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject_kind: String,
    /// The user's id, the group's name or the client's client_id.
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub subject_id: String,
    /// The organization the role holds in; empty for a global grant (empty rather than
    /// NULL so that the primary key also forbids duplicate global grants).
    #[sea_orm(primary_key, auto_increment = false, indexed)]
    pub organization_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
