//! Login through upstream OpenID providers.
pub mod cli;

use axum::Router;

use crate::state::AppState;

/// Upstream provider metadata cache.
#[derive(Default)]
pub struct Federation {}

pub fn routes() -> Router<AppState> {
    Router::new()
}
