//! Clients: registered applications.
use entity::clients::{self, ActiveModel, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::{join, split};
use crate::types::{AuthMethod, Scopes, SigningAlg};

/// A client as the protocol code sees it.
#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    pub scopes: Scopes,
    pub id_token_alg: SigningAlg,
    pub public: bool,
    pub jwks: Option<String>,
    /// Where the client publishes its keys, fetched by `oauth::client_jwks`.
    pub jwks_uri: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    /// Empty: the origins of the redirect URIs.
    pub allowed_cors_origins: Vec<String>,
    /// SHA-256 of the RFC 7592 registration access token, for clients registered over HTTP.
    pub registration_token_hash: Option<String>,
    /// When the client was registered (RFC 7591 `client_id_issued_at`).
    pub created_at: i64,
    /// The organization the client is restricted to (`client_organizations`), read with the
    /// client so that the cached copy holds it and the token endpoint needs no read for it.
    /// Written only by `organizations::restrict_client`, which bumps the clients version;
    /// `replace` leaves it alone.
    pub organization_id: Option<String>,
}

impl Client {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

impl From<clients::Model> for Client {
    fn from(m: clients::Model) -> Self {
        Client {
            auth_method: AuthMethod::parse(&m.token_endpoint_auth_method)
                .unwrap_or(AuthMethod::ClientSecretBasic),
            id_token_alg: SigningAlg::parse(&m.id_token_signed_response_alg)
                .unwrap_or(SigningAlg::Rs256),
            scopes: Scopes::from_stored(&m.scopes),
            redirect_uris: split(&m.redirect_uris),
            grant_types: split(&m.grant_types),
            client_id: m.client_id,
            secret_hash: m.secret_hash,
            name: m.name,
            public: m.public,
            jwks: m.jwks,
            jwks_uri: m.jwks_uri,
            client_uri: m.client_uri,
            logo_uri: m.logo_uri,
            policy_uri: m.policy_uri,
            tos_uri: m.tos_uri,
            post_logout_redirect_uris: split(&m.post_logout_redirect_uris),
            backchannel_logout_uri: m.backchannel_logout_uri,
            backchannel_logout_session_required: m.backchannel_logout_session_required,
            allowed_cors_origins: split(&m.allowed_cors_origins),
            registration_token_hash: m.registration_token_hash,
            created_at: m.created_at,
            organization_id: None,
        }
    }
}

/// Every column of a client but its timestamps.
fn active_model(client: &Client) -> ActiveModel {
    ActiveModel {
        client_id: Set(client.client_id.clone()),
        secret_hash: Set(client.secret_hash.clone()),
        name: Set(client.name.clone()),
        redirect_uris: Set(join(&client.redirect_uris)),
        grant_types: Set(join(&client.grant_types)),
        token_endpoint_auth_method: Set(client.auth_method.as_str().into()),
        scopes: Set(client.scopes.to_string()),
        id_token_signed_response_alg: Set(client.id_token_alg.as_str().into()),
        public: Set(client.public),
        jwks: Set(client.jwks.clone()),
        jwks_uri: Set(client.jwks_uri.clone()),
        client_uri: Set(client.client_uri.clone()),
        logo_uri: Set(client.logo_uri.clone()),
        policy_uri: Set(client.policy_uri.clone()),
        tos_uri: Set(client.tos_uri.clone()),
        post_logout_redirect_uris: Set(join(&client.post_logout_redirect_uris)),
        backchannel_logout_uri: Set(client.backchannel_logout_uri.clone()),
        backchannel_logout_session_required: Set(client.backchannel_logout_session_required),
        allowed_cors_origins: Set(join(&client.allowed_cors_origins)),
        registration_token_hash: Set(client.registration_token_hash.clone()),
        created_at: sea_orm::ActiveValue::NotSet,
        updated_at: sea_orm::ActiveValue::NotSet,
    }
}

/// Stores a new client and bumps the clients version: nothing caches an unknown client, but
/// the CORS origin index (every client's origins) must learn the new one at once.
pub async fn insert(db: &impl ConnectionTrait, client: &Client, now: i64) -> Result<(), DbErr> {
    let mut model = active_model(client);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    Entity::insert(model).exec(db).await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await
}

/// Replaces every field of an existing client (keeping when it was created), and tells
/// every instance to drop its cached copy. False if there is no such client.
pub async fn replace(db: &impl ConnectionTrait, client: &Client, now: i64) -> Result<bool, DbErr> {
    let mut model = active_model(client);
    model.updated_at = Set(now);
    let result = Entity::update_many()
        .set(model)
        .filter(Column::ClientId.eq(client.client_id.as_str()))
        .exec(db)
        .await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(result.rows_affected == 1)
}

/// Reads the client, with its organization restriction, on every call: a client changed
/// through the CLI takes effect at once.
pub async fn find(db: &impl ConnectionTrait, client_id: &str) -> Result<Option<Client>, DbErr> {
    if client_id.is_empty() || client_id.len() > 256 {
        return Ok(None);
    }
    let Some(model) = Entity::find_by_id(client_id.to_string()).one(db).await? else {
        return Ok(None);
    };
    let mut client = Client::from(model);
    client.organization_id = super::organizations::of_client(db, client_id).await?;
    Ok(Some(client))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Client>, DbErr> {
    let mut restrictions = super::organizations::all_restrictions(db).await?;
    Ok(Entity::find()
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            let mut client = Client::from(m);
            client.organization_id = restrictions.remove(&client.client_id);
            client
        })
        .collect())
}

/// Deletes a client, revokes every token family issued to it, and removes its role grants
/// and its organization restriction.
pub async fn remove(db: &impl ConnectionTrait, client_id: &str, now: i64) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    super::families::revoke_for_client(db, client_id, now).await?;
    super::roles::remove_grants_of(db, super::roles::Holder::Client(client_id)).await?;
    super::organizations::restrict_client(db, client_id, None, now).await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(deleted.rows_affected == 1)
}

pub async fn set_secret_hash(
    db: &impl ConnectionTrait,
    client_id: &str,
    hash: &str,
    now: i64,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let result = Entity::update_many()
        .col_expr(Column::SecretHash, Expr::value(hash))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::ClientId.eq(client_id))
        .filter(Column::Public.eq(false))
        .exec(db)
        .await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(result.rows_affected == 1)
}
