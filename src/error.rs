//! Internal failures: opaque to the client, logged once with their cause.
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
            _ => false,
        }
    }

    pub fn log(&self) {
        tracing::error!(error = %self, "internal error");
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        if self.is_unavailable() {
            return crate::views::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service cannot complete sign-in right now. Please try again in a moment.",
            );
        }
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again.</p>"),
        )
            .into_response()
    }
}
