//! Internal failures: opaque to the client, logged once with their cause.
//!
//! Nothing here logs. A failure response carries a [`Failure`] in its extensions, and the
//! trace middleware (`crate::trace`) logs it once, inside the request's span, with the route
//! and the request id.
use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("jwt: {0}")]
    Jwt(#[from] crate::jose::jwt::JwtError),
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("{0}")]
    Internal(String),
    /// A service we depend on other than the database (Redis) is unreachable: 503.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    /// The database is unreachable or refusing work for now: answered 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            AppError::Db(e) => crate::storage::is_unavailable(e),
            // Every backend error of our session store is a failed database call.
            AppError::Session(tower_sessions::session::Error::Store(
                tower_sessions::session_store::Error::Backend(_),
            )) => true,
            AppError::Unavailable(_) => true,
            _ => false,
        }
    }
}

/// Why a request failed, for the log only (never sent): attached to the response by
/// `AppError` and `OAuthError`, taken off and logged by the trace middleware.
#[derive(Clone, Debug)]
pub struct Failure {
    /// A fault of ours (logged as an error) rather than a refused request (logged as info).
    pub internal: bool,
    /// The RFC error code, for refused protocol requests.
    pub code: Option<&'static str>,
    pub detail: Cow<'static, str>,
}

impl Failure {
    pub fn internal(error: &AppError) -> Failure {
        Failure {
            internal: true,
            code: None,
            detail: error.to_string().into(),
        }
    }

    /// Adds this failure to a response.
    pub fn attach(self, response: &mut Response) {
        response.extensions_mut().insert(self);
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = if self.is_unavailable() {
            crate::views::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "error-unavailable-title",
                "error-unavailable",
            )
        } else {
            // Rendered here rather than through `views::page`, whose own failure is an
            // `AppError`: a page that cannot render falls back to plain text.
            let page = crate::views::ErrorPage::keys("error-internal-title", "error-internal");
            let html = askama::Template::render(&page).unwrap_or_else(|_| {
                "<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again.</p>".to_string()
            });
            (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
        };
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::oauth::error::UNAVAILABLE_RETRY_AFTER),
            );
        }
        Failure::internal(&self).attach(&mut response);
        response
    }
}
