//! The account page at `/account`: a signed-in user sees and manages their profile, the
//! apps they allowed, where they are signed in, their password, linked providers and API keys.
//!
//! Sign-in goes through the same login page and browser session as `/authorize` (an
//! [`AuthRequest::account_sign_in`] parked in the session; after login `proceed` sends the
//! browser back here). Every change is a CSRF-protected form POST answered by a redirect
//! back to the page with a one-time message (POST-redirect-GET). Every change is made in
//! the database and every check reads it, so it holds on every instance at once.
//!
//! The rules are in one file per action (no axum there); `handlers.rs` only translates.
pub mod api_keys;
mod handlers;
pub mod password;
pub mod profile;
pub mod remove_app;
pub mod sessions;
pub mod unlink;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

use crate::error::AppError;
use crate::oauth::interaction::session::{self, Flash, Login};
use crate::oauth::interaction::{login_url, paths, redirect, AuthRequest};
use crate::state::AppState;
use crate::storage::users::{self, User};

/// The page and its forms.
pub mod routes {
    pub const PROFILE: &str = "/account/profile";
    pub const REMOVE_APP: &str = "/account/apps/remove";
    pub const SIGN_OUT: &str = "/account/sessions/sign-out";
    pub const SIGN_OUT_OTHERS: &str = "/account/sessions/sign-out-others";
    pub const PASSWORD: &str = "/account/password";
    pub const UNLINK: &str = "/account/identities/unlink";
    pub const CREATE_API_KEY: &str = "/account/api-keys/create";
    pub const REVOKE_API_KEY: &str = "/account/api-keys/revoke";
}

/// The account routes; they need the browser-session layer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(handlers::show))
        .route(routes::PROFILE, post(handlers::profile))
        .route(routes::REMOVE_APP, post(handlers::remove_app))
        .route(routes::SIGN_OUT, post(handlers::sign_out))
        .route(routes::SIGN_OUT_OTHERS, post(handlers::sign_out_others))
        .route(routes::PASSWORD, post(handlers::password))
        .route(routes::UNLINK, post(handlers::unlink))
        .route(routes::CREATE_API_KEY, post(handlers::create_api_key))
        .route(routes::REVOKE_API_KEY, post(handlers::revoke_api_key))
}

/// The signed-in user of this browser, or the redirect to the login page that brings them
/// back here. A login that no longer counts (signed out elsewhere, expired, user disabled
/// or deleted) is no login.
async fn signed_in(
    state: &AppState,
    session: &Session,
) -> Result<Result<(Login, User), Response>, AppError> {
    if let Some(login) = session::active_login(state, session).await? {
        if let Some(user) = users::find(&state.db, &login.user_id).await? {
            if !user.disabled {
                return Ok(Ok((login, user)));
            }
        }
    }
    let now = state.clock.now();
    let id = session::save_pending(session, &AuthRequest::account_sign_in(now), now).await?;
    Ok(Err(redirect(&login_url(&id))))
}

/// Back to the page with `text` (already in the page's language) shown once (303: the
/// browser GETs the page).
async fn back(
    session: &Session,
    text: impl Into<String>,
    error: bool,
) -> Result<Response, AppError> {
    session::set_flash(
        session,
        &Flash {
            text: text.into(),
            error,
        },
    )
    .await?;
    Ok(redirect(paths::ACCOUNT))
}

/// A form that is not one of ours (missing field): a plain 400 page.
fn bad_form() -> Response {
    crate::views::error_page(
        StatusCode::BAD_REQUEST,
        "error-form-title",
        "account-form-unreadable",
    )
}

/// How the account page shows a time: UTC, to the minute.
fn when(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
