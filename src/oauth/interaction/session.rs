//! What the browser session holds: who is logged in, the CSRF token, and the authorization
//! requests waiting for login or consent.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::AuthRequest;
use crate::error::AppError;

const LOGIN: &str = "login";
const CSRF: &str = "csrf";
const PENDING: &str = "pending";
/// Pending requests older than this are dropped; so are the oldest beyond `MAX_PENDING`.
const PENDING_TTL: i64 = 3600;
const MAX_PENDING: usize = 16;

/// An authenticated user in this session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    pub user_id: String,
    pub auth_time: i64,
    /// `pwd` or `fed` (RFC 8176).
    pub amr: String,
    /// The upstream issuer, for federated logins.
    pub idp: Option<String>,
}

pub async fn login(session: &Session) -> Result<Option<Login>, AppError> {
    Ok(session.get::<Login>(LOGIN).await?)
}

/// Records a login under a fresh session id (no session fixation).
pub async fn set_login(session: &Session, login: Login) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(LOGIN, login).await?;
    Ok(())
}

pub async fn clear_login(session: &Session) -> Result<(), AppError> {
    session.remove::<Login>(LOGIN).await?;
    Ok(())
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = crate::secrets::random_token(32);
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// Whether `presented` is this session's CSRF token (constant time).
pub async fn check_csrf(session: &Session, presented: Option<&str>) -> Result<bool, AppError> {
    let expected = session.get::<String>(CSRF).await?;
    Ok(match (expected, presented) {
        (Some(expected), Some(presented)) => crate::secrets::constant_time_eq(&expected, presented),
        _ => false,
    })
}

type Pending = HashMap<String, AuthRequest>;

/// Stores a request waiting for login or consent; returns its id.
pub async fn save_pending(
    session: &Session,
    request: &AuthRequest,
    now: i64,
) -> Result<String, AppError> {
    let mut pending: Pending = session.get(PENDING).await?.unwrap_or_default();
    pending.retain(|_, r| now - r.created_at < PENDING_TTL);
    while pending.len() >= MAX_PENDING {
        let oldest = pending
            .iter()
            .min_by_key(|(_, r)| r.created_at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(key) => pending.remove(&key),
            None => break,
        };
    }
    let id = crate::secrets::random_token(16);
    pending.insert(id.clone(), request.clone());
    session.insert(PENDING, pending).await?;
    Ok(id)
}

pub async fn update_pending(
    session: &Session,
    id: &str,
    request: &AuthRequest,
) -> Result<(), AppError> {
    let mut pending: Pending = session.get(PENDING).await?.unwrap_or_default();
    pending.insert(id.to_string(), request.clone());
    session.insert(PENDING, pending).await?;
    Ok(())
}

pub async fn load_pending(
    session: &Session,
    id: &str,
    now: i64,
) -> Result<Option<AuthRequest>, AppError> {
    let pending: Pending = session.get(PENDING).await?.unwrap_or_default();
    Ok(pending
        .get(id)
        .filter(|r| now - r.created_at < PENDING_TTL)
        .cloned())
}

pub async fn remove_pending(session: &Session, id: &str) -> Result<(), AppError> {
    let mut pending: Pending = session.get(PENDING).await?.unwrap_or_default();
    if pending.remove(id).is_some() {
        session.insert(PENDING, pending).await?;
    }
    Ok(())
}
