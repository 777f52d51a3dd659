//! Dynamic client registration (RFC 7591) and client configuration (RFC 7592) without HTTP:
//! who may register (the policy and initial access tokens), and who may read, replace or
//! delete a registered client (its registration access token). `oauth::register` only
//! translates requests and answers.
use sea_orm::TransactionTrait;

use super::{rfc7591, ClientError};
use crate::config::RegistrationPolicy;
use crate::secrets::{
    client_secret_hash, constant_time_eq, random_token, token_hash, ClientSecretKey,
};
use crate::storage::clients::Client;
use crate::storage::registration_tokens::{self, Refused};
use crate::storage::{self, Db};

/// Why a registration or configuration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The metadata is refused (RFC 7591 §3.2.2), or the storage failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A missing, unknown, expired or used-up initial access token, or a wrong registration
    /// access token: RFC 6750 `invalid_token` (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Registration is off.
    #[error("dynamic client registration is off")]
    Off,
    /// Too many open registrations this minute.
    #[error("too many registrations; retry in a minute")]
    RateLimited,
}

impl From<sea_orm::DbErr> for RegistrationError {
    fn from(e: sea_orm::DbErr) -> Self {
        RegistrationError::Client(ClientError::Storage(e))
    }
}

/// Registrations one instance accepts per minute under the `open` policy: enough for apps
/// registering themselves, too few to fill the database.
pub const OPEN_PER_MINUTE: u32 = 20;

/// A fixed one-minute window over the clock's seconds, per instance.
#[derive(Default)]
pub struct RateLimit {
    window: std::sync::Mutex<(i64, u32)>,
}

impl RateLimit {
    /// Counts one attempt at `now`; false once `limit` attempts were made this minute.
    pub fn allow(&self, now: i64, limit: u32) -> bool {
        let Ok(mut window) = self.window.lock() else {
            return false;
        };
        let minute = now.div_euclid(60);
        if window.0 != minute {
            *window = (minute, 0);
        }
        window.1 = window.1.saturating_add(1);
        window.1 <= limit
    }
}

/// A client just registered, with the values shown only now.
pub struct Registered {
    pub client: Client,
    pub client_secret: Option<String>,
    pub registration_access_token: String,
}

fn refused(reason: Refused) -> RegistrationError {
    RegistrationError::Unauthorized(match reason {
        Refused::Unknown => "the initial access token is not valid",
        Refused::Expired => "the initial access token has expired",
        Refused::UsedUp => "the initial access token has been used up",
    })
}

/// RFC 7591 §3: registers the client described by `body` (a JSON object) if `policy` allows
/// it. With the `token` policy the initial access token is checked before the body is read
/// and used up (once, atomically with the insert) only by a registration that succeeds.
pub async fn register(
    db: &Db,
    secret_key: &ClientSecretKey,
    policy: RegistrationPolicy,
    limit: &RateLimit,
    initial_access_token: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Registered, RegistrationError> {
    let token = match policy {
        RegistrationPolicy::Off => return Err(RegistrationError::Off),
        RegistrationPolicy::Open if !limit.allow(now, OPEN_PER_MINUTE) => {
            return Err(RegistrationError::RateLimited)
        }
        RegistrationPolicy::Open => None,
        RegistrationPolicy::Token => {
            let Some(token) = initial_access_token else {
                return Err(RegistrationError::Unauthorized(
                    "an initial access token is required (tessera registration-token create)",
                ));
            };
            let hash = token_hash(token);
            registration_tokens::check(db, &hash, now)
                .await?
                .map_err(refused)?;
            Some(hash)
        }
    };
    let metadata = rfc7591::metadata_from_json(&rfc7591::parse_body(body)?)?;
    let mut client = super::validate(metadata)?;
    let registration_access_token = random_token(32);
    client.registration_token_hash = Some(token_hash(&registration_access_token));
    let txn = db.begin().await?;
    if let Some(hash) = &token {
        registration_tokens::consume(&txn, hash, now)
            .await?
            .map_err(refused)?;
    }
    let (client, client_secret) = super::store_new(&txn, secret_key, client, now).await?;
    txn.commit().await?;
    Ok(Registered {
        client,
        client_secret,
        registration_access_token,
    })
}

/// RFC 7592 §2: the client, if `token` is its registration access token. An unknown client
/// and a wrong token are refused alike, so that neither reveals which clients exist.
pub async fn authorize(
    db: &Db,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, RegistrationError> {
    let wrong = RegistrationError::Unauthorized("the registration access token is not valid");
    let Some(token) = token else {
        return Err(RegistrationError::Unauthorized(
            "the registration access token is required",
        ));
    };
    let client = storage::clients::find(db, client_id).await?.ok_or(wrong)?;
    match &client.registration_token_hash {
        Some(hash) if constant_time_eq(hash, &token_hash(token)) => Ok(client),
        _ => Err(RegistrationError::Unauthorized(
            "the registration access token is not valid",
        )),
    }
}

/// RFC 7592 §2.2: replaces the client's metadata with `body`, validated as a registration.
/// The body carries the client's own `client_id`, and a `client_secret` only if it is the
/// current one.
pub async fn replace(
    db: &Db,
    secret_key: &ClientSecretKey,
    client_id: &str,
    token: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(Client, Option<String>), RegistrationError> {
    let current = authorize(db, client_id, token).await?;
    let map = rfc7591::parse_body(body)?;
    let invalid = |m: &str| RegistrationError::from(ClientError::InvalidMetadata(m.into()));
    match map.get("client_id") {
        Some(serde_json::Value::String(id)) if id == client_id => {}
        _ => return Err(invalid("the request must carry the client's own client_id")),
    }
    match (map.get("client_secret"), &current.secret_hash) {
        (None | Some(serde_json::Value::Null), _) => {}
        (Some(serde_json::Value::String(secret)), Some(hash))
            if constant_time_eq(hash, &client_secret_hash(secret_key, secret)) => {}
        _ => return Err(invalid("client_secret is not the client's current secret")),
    }
    let metadata = rfc7591::metadata_from_json(&map)?;
    Ok(super::update(db, secret_key, client_id, metadata, now).await?)
}

/// RFC 7592 §2.3: deletes the client and revokes every token issued to it.
pub async fn delete(
    db: &Db,
    client_id: &str,
    token: Option<&str>,
    now: i64,
) -> Result<(), RegistrationError> {
    authorize(db, client_id, token).await?;
    storage::clients::remove(db, client_id, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RateLimit;

    #[test]
    fn the_rate_limit_resets_each_minute() {
        let limit = RateLimit::default();
        assert!((0..3).all(|_| limit.allow(120, 3)));
        assert!(!limit.allow(179, 3));
        assert!(limit.allow(180, 3));
    }
}
