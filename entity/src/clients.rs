use sea_orm::entity::prelude::*;

/// A registered OAuth client. List-valued fields are stored space-separated.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// Keyed hash of the generated secret; `None` for public and private_key_jwt clients.
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: String,
    pub grant_types: String,
    pub token_endpoint_auth_method: String,
    pub scopes: String,
    pub id_token_signed_response_alg: String,
    pub public: bool,
    /// Client's public keys (JWKS JSON) for private_key_jwt.
    pub jwks: Option<String>,
    /// Where the client publishes its public keys instead (private_key_jwt).
    pub jwks_uri: Option<String>,
    /// Home page of the app (https), shown on the consent page.
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// Space-separated, exact.
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Space-separated origins; empty: the origins of the redirect URIs.
    pub allowed_cors_origins: String,
    /// SHA-256 of the RFC 7592 registration access token; `None` for clients added by the CLI.
    pub registration_token_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
