use sea_orm::entity::prelude::*;

/// An API key (personal access token) of a user or a client, made by `tessera apikey create`
/// (or the account page). The key itself is never stored: only its HMAC-SHA256 under a key
/// derived from the server's pepper (`key_hash`), and its first characters (`prefix`) so
/// people can tell their keys apart.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// A short public id, to list and revoke the key without knowing it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Looked up on every use (unique index), so a revocation counts at once everywhere.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// `tsk_` and the first characters of the key: enough to recognise it, useless to use it.
    pub prefix: String,
    pub name: String,
    /// The user the key acts for (exactly one of `user_id` and `client_id` is set).
    #[sea_orm(indexed)]
    pub user_id: Option<String>,
    /// The client the key acts for.
    #[sea_orm(indexed)]
    pub client_id: Option<String>,
    /// The organization the key belongs to (organizations come with issue 13 point 3; no
    /// foreign key so that this table does not depend on that one).
    pub organization_id: Option<String>,
    /// Space-separated scopes: the most a use of the key may carry.
    pub scope: String,
    pub created_at: i64,
    /// None: the key does not expire.
    pub expires_at: Option<i64>,
    /// Written in batches (see `tessera::apikeys::usage`), so it may lag a few seconds.
    pub last_used_at: Option<i64>,
    /// Set by a revocation; the key is refused from then on.
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
