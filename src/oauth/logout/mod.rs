//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) and ending login
//! sessions with back-channel notification (Back-Channel Logout 1.0).
//!
//! - `request`: what the app's logout request asks, checked;
//! - `ending`: ending sessions (shared with the CLI and, later, the account page);
//! - `backchannel`: the outbox deliveries.
pub mod backchannel;
pub mod ending;
mod request;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::audit::{self, AuditEvent, Kind, Target};
use crate::error::AppError;
use crate::oauth::interaction::{self, session};
use crate::oauth::params::{is_form, Params};
use crate::state::AppState;
use crate::storage::users;
use crate::views::{error_page, page, ErrorPage, LogoutPage, SignedOutPage, Ui};
use request::LogoutRequest;

/// §2: GET or POST. Our own confirmation form posts back here with `confirm` and the
/// session's CSRF token.
pub async fn handler(
    State(state): State<AppState>,
    session: Session,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, AppError> {
    let params = if method == Method::POST {
        if !is_form(&headers) {
            return Ok(invalid("error-logout-not-form", None));
        }
        Params::parse(&body)
    } else {
        Params::parse(query.as_deref().unwrap_or_default().as_bytes())
    };
    let params = match params {
        Ok(params) => params,
        Err(e) => {
            return Ok(invalid(
                "error-logout-malformed",
                Some(e.description.into_owned()),
            ))
        }
    };
    // RP-Initiated Logout 1.0 §2: `ui_locales`, as at /authorize.
    crate::views::i18n::prefer(params.get("ui_locales"));
    let confirm = match (method == Method::POST, params.get("confirm")) {
        (true, Some(answer)) => {
            if !session::check_csrf(&session, params.get("csrf_token")).await? {
                return Ok(error_page(
                    StatusCode::FORBIDDEN,
                    "error-stale-form-title",
                    "error-stale-logout-form",
                ));
            }
            Some(answer == "yes")
        }
        _ => None,
    };
    let login = session::active_login(&state, &session).await?;
    let request = match request::check(&state, &params, login.as_ref()).await? {
        Ok(request) => request,
        Err(message) => return Ok(invalid("error-logout-refused", Some(message.to_string()))),
    };
    let Some(login) = login else {
        // Nobody to sign out: the app's wish is already true.
        session.flush().await?;
        return Ok(finish(
            &request,
            "signed-out-title",
            "signed-out-not-signed-in",
        ));
    };
    match confirm {
        Some(false) => Ok(page(
            StatusCode::OK,
            &SignedOutPage::keys("signed-out-stayed-title", "signed-out-stayed"),
        )),
        Some(true) => sign_out(&state, &session, &login, &request).await,
        None if request.hint_names_this_login => sign_out(&state, &session, &login, &request).await,
        None => confirmation(&state, &session, &login, &request).await,
    }
}

/// A refused logout request: `message` is a catalog key, `detail` the check's own words
/// for the app's developer.
fn invalid(message: &str, detail: Option<String>) -> Response {
    let mut page = ErrorPage::keys("error-logout-title", message);
    if let Some(detail) = detail {
        page = page.detail(detail);
    }
    page.respond(StatusCode::BAD_REQUEST)
}

async fn sign_out(
    state: &AppState,
    session: &Session,
    login: &session::Login,
    request: &LogoutRequest,
) -> Result<Response, AppError> {
    if let Some(sid) = &login.sid {
        let ctx = ending::Context {
            db: &state.db,
            keys: &state.keys,
            issuer: state.settings.issuer_str().to_string(),
            allow_private_callbacks: state.settings.allow_private_callbacks,
        };
        ending::end_session(&ctx, &login.user_id, sid, state.clock.now()).await?;
    }
    let mut event = AuditEvent::new(Kind::Logout)
        .user(&login.user_id)
        .reason("end_session_endpoint");
    if let Some(client) = &request.client {
        event = event.client(&client.client_id);
    }
    if let Some(sid) = &login.sid {
        event = event.target(Target::Sid(sid.clone()));
    }
    audit::record(state, event);
    session.flush().await?;
    Ok(finish(request, "signed-out-title", "signed-out-done"))
}

/// §3: back to the app's registered `post_logout_redirect_uri` (with `state`), or a page
/// (`title` and `message` are catalog keys).
fn finish(request: &LogoutRequest, title: &str, message: &str) -> Response {
    match &request.redirect_to {
        Some(url) => interaction::redirect(url),
        None => page(StatusCode::OK, &SignedOutPage::keys(title, message)),
    }
}

/// §2: without a hint that names this login, the user confirms (a CSRF-protected form that
/// names the app).
async fn confirmation(
    state: &AppState,
    session: &Session,
    login: &session::Login,
    request: &LogoutRequest,
) -> Result<Response, AppError> {
    let csrf = session::csrf_token(session).await?;
    let user = users::find(&state.db, &login.user_id).await?;
    let mut carried = Vec::new();
    if let Some(client) = &request.client {
        carried.push(("client_id", client.client_id.clone()));
    }
    if let Some(uri) = &request.post_logout_redirect_uri {
        carried.push(("post_logout_redirect_uri", uri.clone()));
    }
    if let Some(s) = &request.state {
        carried.push(("state", s.clone()));
    }
    Ok(page(
        StatusCode::OK,
        &LogoutPage {
            ui: Ui::current(),
            client_name: request.client.as_ref().map(|c| c.name.as_str()),
            username: user.as_ref().map(|u| u.username.as_str()),
            csrf: &csrf,
            carried,
        },
    ))
}
