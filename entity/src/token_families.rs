use sea_orm::entity::prelude::*;

/// One authorization (a grant): every refresh and access token issued from it shares the family.
///
/// The family's refresh token is not stored: it is `{id}.{generation}.{HMAC}` under a key
/// of the server's, so a rotation is one conditional update of `generation` here (one
/// statement, one winner) and an older generation presented again is a provable replay.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub idp: Option<String>,
    pub created_at: i64,
    /// Absolute lifetime of the family's refresh tokens.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The generation of the one live refresh token; every rotation adds one.
    pub generation: i64,
    /// When `generation` last moved (the refresh grace period counts from it).
    pub rotated_at: Option<i64>,
    /// Idle expiry of the live refresh token.
    pub idle_expires_at: i64,
    /// The login session (OIDC `sid`) it was issued in; None before sessions had ids.
    #[sea_orm(indexed)]
    pub sid: Option<String>,
    /// The organization its tokens speak for (`org_id`); None: no organization.
    pub organization_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
