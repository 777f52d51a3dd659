use sea_orm::entity::prelude::*;

/// An issued authorization code, stored by the SHA-256 of its value.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub idp: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The token family created when the code was redeemed; revoked on replay.
    pub family_id: Option<String>,
    /// The login session (OIDC `sid`) it was issued in; None before sessions had ids.
    pub sid: Option<String>,
    /// The organization its tokens speak for (`org_id`); None: no organization.
    pub organization_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
