//! The router, used by `main` and by every test.
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::accounts::{consent, login, organization};
use crate::oauth::interaction::paths;
use crate::oauth::{authorize, discovery, introspect, logout, revoke, token_endpoint, userinfo};
use crate::state::AppState;
use crate::storage::sessions::DbSessionStore;

/// The session cookie: `__Host-` prefixed and `Secure` when served over https.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-tessera-session"
    } else {
        "tessera-session"
    }
}

pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The router with `extra` routes served through the same layers (tests add routes here).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let https = state.settings.https();
    let store = DbSessionStore::new(state.db.clone(), state.clock.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name(session_cookie_name(https))
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(state.settings.session_seconds),
        ));

    // Pages that use the browser session.
    let browser = Router::new()
        .route(
            paths::AUTHORIZE,
            get(authorize::handler).post(authorize::handler),
        )
        .route(paths::LOGIN, get(login::show).post(login::submit))
        .route(paths::CONSENT, get(consent::show).post(consent::submit))
        .route(
            paths::ORGANIZATION,
            get(organization::show).post(organization::submit),
        )
        .route(paths::LOGOUT, get(logout::handler).post(logout::handler))
        .merge(crate::federation::routes())
        .merge(crate::accounts::account::routes())
        .layer(sessions);

    // Endpoints browser-based apps call cross-origin (`oauth::cors`, applied by the guard).
    let cors = Router::new()
        .route(
            token_endpoint::PATH,
            axum::routing::post(token_endpoint::handler),
        )
        .route(
            userinfo::PATH,
            get(userinfo::handler).post(userinfo::handler),
        )
        .route(revoke::PATH, axum::routing::post(revoke::handler));

    // Protocol endpoints that never touch the session.
    let api = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::oauth_authorization_server),
        )
        .route(discovery::JWKS_PATH, get(discovery::jwks))
        .route(introspect::PATH, axum::routing::post(introspect::handler))
        .merge(cors)
        .merge(crate::oauth::register::routes())
        .route(crate::views::assets::PATH, get(crate::views::assets::serve));

    api.merge(browser)
        .merge(extra)
        .fallback(not_found)
        // One `layer` call for all of them: `Router::layer` boxes each layer around every
        // route, and axum clones a route's whole boxed chain on each call at every level, so
        // n separate layers cost each request about n²/2 allocations (measured on the token
        // path: a third of its CPU with thirteen layers).
        .layer(
            tower::ServiceBuilder::new()
                // Outermost, so a contained panic is counted as the 500 it became.
                .layer(crate::telemetry::http::TrackLayer::new(
                    state.metrics.clone(),
                ))
                // Outside the guard, so that its pages too are in the user's language.
                .layer(crate::views::i18n::PagesLayer::new(state.assets.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    crate::guard::guard,
                )),
        )
        .with_state(state)
}

/// The headers every response gets unless it sets them itself (added by `guard::guard`).
pub fn security_headers(https: bool) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
    let headers = [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::views::CSP),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    let hsts = https.then(|| {
        (
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    headers.into_iter().chain(hsts)
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"not_found"}"#,
    )
}
