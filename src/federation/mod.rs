//! Login through upstream OpenID providers ("Sign in with Google", or any OpenID provider):
//! authorization code + PKCE + `state` + `nonce` through the `openidconnect` crate, full
//! ID-token validation, then the pending authorization request resumes where it left off.
//!
//! - `upstream`: providers as data (presets, validation, quirks);
//! - `provider`: discovery cache, authorization URL, code exchange, ID-token checks;
//! - `accounts`: which local user an upstream identity is (link, provision, refuse);
//! - `handlers`: the two browser endpoints (the CLI is in `crate::cli::upstreams`).
pub mod accounts;
pub mod handlers;
pub mod provider;
pub mod upstream;

use axum::routing::get;
use axum::Router;

use crate::config::Settings;
use crate::oauth::interaction::{paths, upstream_login_url};
use crate::state::AppState;
use crate::storage::{upstreams, Db};
use crate::views::UpstreamButton;

pub use provider::Federation;

/// The one redirect URI every upstream sends its answer to.
pub const CALLBACK_PATH: &str = "/federation/callback";

/// The callback URL to register at every upstream: `{issuer}/federation/callback`.
pub fn callback_url(settings: &Settings) -> String {
    settings.endpoint(CALLBACK_PATH)
}

/// The browser routes; `app::router` puts them under the session layer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::UPSTREAM_LOGIN, get(handlers::start))
        .route(CALLBACK_PATH, get(handlers::callback))
}

/// The login page's buttons, one per upstream, each resuming the pending request.
pub async fn login_buttons(
    db: &Db,
    request_id: &str,
) -> Result<Vec<UpstreamButton>, sea_orm::DbErr> {
    Ok(upstreams::list(db)
        .await?
        .iter()
        .map(|u| UpstreamButton {
            href: upstream_login_url(&u.name, request_id),
            label: upstream::label(u),
        })
        .collect())
}
