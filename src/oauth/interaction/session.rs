//! What the browser session holds: who is logged in, the CSRF token, and the authorization
//! requests waiting for login or consent.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::AuthRequest;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::login_sessions;
use crate::storage::users::{self, User};
use crate::types::Scopes;

const LOGIN: &str = "login";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
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
    /// The login session (OIDC `sid`, see `storage::login_sessions`); None only in browser
    /// sessions started before sessions had ids.
    #[serde(default)]
    pub sid: Option<String>,
}

/// A successful authentication, before it becomes a login session.
pub struct SignIn {
    pub user_id: String,
    pub auth_time: i64,
    pub amr: &'static str,
    pub idp: Option<String>,
    pub user_agent: Option<String>,
}

/// Starts a login session for `sign_in` and records it in this browser session under a fresh
/// session id (no session fixation).
pub async fn sign_in(state: &AppState, session: &Session, sign_in: SignIn) -> Result<(), AppError> {
    let now = state.clock.now();
    let sid = crate::secrets::random_token(16);
    login_sessions::start(
        &state.db,
        login_sessions::NewLoginSession {
            sid: sid.clone(),
            user_id: sign_in.user_id.clone(),
            auth_time: sign_in.auth_time,
            // Shown on the account page ("from where"); the address as the throttle reads it.
            ip: crate::audit::RequestMeta::current_ip().map(|ip| ip.to_string()),
            user_agent: sign_in.user_agent.map(|ua| ua.chars().take(256).collect()),
            expires_at: now + state.settings.session_seconds,
        },
        now,
    )
    .await?;
    set_login(
        session,
        Login {
            user_id: sign_in.user_id,
            auth_time: sign_in.auth_time,
            amr: sign_in.amr.into(),
            idp: sign_in.idp,
            sid: Some(sid),
        },
    )
    .await
}

/// The browser's `User-Agent`, to show the user which sessions they have.
pub fn user_agent(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The browser's login if its login session still counts (not logged out on any instance,
/// not expired).
pub async fn active_login(state: &AppState, session: &Session) -> Result<Option<Login>, AppError> {
    let Some(login) = login(session).await? else {
        return Ok(None);
    };
    match &login.sid {
        Some(sid) if !login_sessions::is_active(&state.db, sid, state.clock.now()).await? => {
            Ok(None)
        }
        _ => Ok(Some(login)),
    }
}

/// The browser's login with its user and the scopes that user granted `client_id`, if the
/// login session still counts and the user still exists: one query, [`active_login`] and the
/// user's consent together (the authorization endpoint's single-sign-on path).
pub async fn active_login_with_consent(
    state: &AppState,
    session: &Session,
    client_id: &str,
) -> Result<Option<(Login, User, Scopes)>, AppError> {
    let Some(login) = login(session).await? else {
        return Ok(None);
    };
    let sid = login.sid.as_deref();
    let found =
        users::find_with_consent(&state.db, &login.user_id, client_id, sid, state.clock.now())
            .await?;
    Ok(found.map(|(user, granted)| (login, user, granted)))
}

pub async fn login(session: &Session) -> Result<Option<Login>, AppError> {
    Ok(session.get::<Login>(LOGIN).await?)
}

/// Records a login under a fresh session id (no session fixation).
async fn set_login(session: &Session, login: Login) -> Result<(), AppError> {
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

/// Keeps a one-time message for the next page this browser shows (POST-redirect-GET).
pub async fn set_flash(session: &Session, message: &Flash) -> Result<(), AppError> {
    session.insert(FLASH, message).await?;
    Ok(())
}

/// The message left by [`set_flash`], removed as it is read.
pub async fn take_flash(session: &Session) -> Result<Option<Flash>, AppError> {
    Ok(session.remove::<Flash>(FLASH).await?)
}

/// A one-time message: what the last form did, or why it was refused.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
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
