//! Client rules: which metadata may be registered, and registration itself. Used by the CLI,
//! the tests and (later) the RFC 7591 endpoint; no clap, no axum here.
pub mod metadata;
pub mod origins;
pub mod redirect_uri;
pub mod registration;
pub mod rfc7591;

pub use metadata::{validate, ClientMetadata};

use sea_orm::ConnectionTrait;

use crate::secrets::{client_secret_hash, random_token, ClientSecretKey};
use crate::storage::{self, clients::Client};

/// Why a client was not registered. The first two are RFC 7591 §3.2.2's error codes.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `invalid_redirect_uri`: a redirect URI is missing, malformed or not allowed.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata`: any other field is invalid or inconsistent.
    #[error("{0}")]
    InvalidMetadata(String),
    /// The requested client_id is taken.
    #[error("a client with id {0} already exists")]
    ClientIdTaken(String),
    #[error("no client with id {0}")]
    NotFound(String),
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

impl ClientError {
    /// The RFC 7591 §3.2.2 error code; None for a server-side failure.
    pub fn rfc7591_code(&self) -> Option<&'static str> {
        match self {
            ClientError::InvalidRedirectUri(_) => Some("invalid_redirect_uri"),
            ClientError::InvalidMetadata(_)
            | ClientError::ClientIdTaken(_)
            | ClientError::NotFound(_) => Some("invalid_client_metadata"),
            ClientError::Storage(_) => None,
        }
    }
}

/// A new secret for a client that authenticates with one, stored as its HMAC under `secret_key`.
fn new_secret(client: &mut Client, secret_key: &ClientSecretKey) -> Option<String> {
    let secret = client.auth_method.uses_secret().then(|| random_token(32));
    client.secret_hash = secret.as_ref().map(|s| client_secret_hash(secret_key, s));
    secret
}

/// Validates and stores a client. Returns it with its secret, if it authenticates with one:
/// the only time the secret exists outside the caller (only its HMAC is stored).
pub async fn register(
    db: &impl ConnectionTrait,
    secret_key: &ClientSecretKey,
    metadata: ClientMetadata,
    now: i64,
) -> Result<(Client, Option<String>), ClientError> {
    store_new(db, secret_key, validate(metadata)?, now).await
}

/// Stores a client that [`validate`] returned (the caller may have added its registration
/// access token hash), with a new secret if it authenticates with one.
pub async fn store_new(
    db: &impl ConnectionTrait,
    secret_key: &ClientSecretKey,
    mut client: Client,
    now: i64,
) -> Result<(Client, Option<String>), ClientError> {
    if storage::clients::find(db, &client.client_id)
        .await?
        .is_some()
    {
        return Err(ClientError::ClientIdTaken(client.client_id));
    }
    let secret = new_secret(&mut client, secret_key);
    client.created_at = now;
    // A concurrent registration of the same client_id loses on the primary key.
    storage::clients::insert(db, &client, now)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                ClientError::ClientIdTaken(client.client_id.clone())
            }
            _ => ClientError::Storage(e),
        })?;
    Ok((client, secret))
}

/// Replaces a client's metadata (RFC 7592 §2.2, `tessera client update`), validated like a
/// registration. Its secret stays unless it starts authenticating with one (then a new one
/// is returned); its registration access token and creation time stay.
pub async fn update(
    db: &impl ConnectionTrait,
    secret_key: &ClientSecretKey,
    client_id: &str,
    mut metadata: ClientMetadata,
    now: i64,
) -> Result<(Client, Option<String>), ClientError> {
    let Some(old) = storage::clients::find(db, client_id).await? else {
        return Err(ClientError::NotFound(client_id.to_string()));
    };
    metadata.client_id = Some(client_id.to_string());
    let mut client = validate(metadata)?;
    client.registration_token_hash = old.registration_token_hash;
    client.created_at = old.created_at;
    let secret = match (&old.secret_hash, client.auth_method.uses_secret()) {
        (Some(hash), true) => {
            client.secret_hash = Some(hash.clone());
            None
        }
        _ => new_secret(&mut client, secret_key),
    };
    if !storage::clients::replace(db, &client, now).await? {
        return Err(ClientError::NotFound(client_id.to_string()));
    }
    Ok((client, secret))
}
