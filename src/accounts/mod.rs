//! People: passwords, the login and consent pages.
pub mod consent;
pub mod hash_threads;
pub mod login;
pub mod password;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::error::AppError;
use crate::oauth::interaction::session;
use crate::oauth::params::{is_form, Params};
use crate::views::error_page;

/// Reads a page's form POST: urlencoded, well-formed, and carrying this session's CSRF token.
/// Anything else is the error page to show instead.
pub(crate) async fn read_form(
    session: &Session,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Result<Params, Box<Response>>, AppError> {
    let Some(params) = is_form(headers).then(|| Params::parse(body).ok()).flatten() else {
        return Ok(Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form could not be read.",
        ))));
    };
    if !session::check_csrf(session, params.get("csrf_token")).await? {
        return Ok(Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "Your session has expired",
            "The form was stale or came from another site. Go back to the application and try again.",
        ))));
    }
    Ok(Ok(params))
}
