//! CORS for browser-based apps on the token, userinfo and revocation endpoints (Fetch
//! standard §3.2; what Keycloak calls web origins). Discovery and the JWKS are public and
//! answer `Access-Control-Allow-Origin: *` themselves; introspection is for resource servers
//! with a secret, which never live in a browser, so it answers no CORS at all.
//!
//! - A request without `Origin` passes straight through (plus `Vary: Origin`): the hot token
//!   path pays nothing.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) carries no client_id, so it
//!   is answered for an origin that *any* client allows ([`OriginIndex`], rebuilt only when
//!   a client changes on any instance), as node-oidc-provider and Keycloak effectively do.
//! - The actual request is then held to the client it was for: the handler tags its response
//!   with the client it named or authenticated ([`tag`]), and only that client's origins get
//!   `Access-Control-Allow-Origin`. A response that names no client (a malformed request)
//!   falls back to the preflight rule: it carries no client's data.
//!
//! The origin is echoed, never `*`, and no `Access-Control-Allow-Credentials`: apps send
//! their credentials (a PKCE verifier, a bearer token) in the request, not as cookies.
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clients::origins;
use crate::state::AppState;

/// How long a browser may reuse a preflight: short, since a client's origins can change.
const PREFLIGHT_MAX_AGE: &str = "600";
/// The index is rebuilt at least this often even without a client change.
const INDEX_MAX_AGE: Duration = Duration::from_secs(60);

/// The client a response was for, set by the handler when the request had an `Origin`.
#[derive(Clone)]
pub struct CorsClient(pub String);

/// Tags `response` with the client it was for (only when the request is cross-origin, so
/// same-origin and server-to-server requests allocate nothing).
pub fn tag(
    mut response: Response,
    headers: &HeaderMap,
    client_id: impl FnOnce() -> Option<String>,
) -> Response {
    if headers.contains_key(header::ORIGIN) {
        if let Some(id) = client_id() {
            response.extensions_mut().insert(CorsClient(id));
        }
    }
    response
}

/// Every origin some client allows, for preflights.
#[derive(Default)]
pub struct OriginIndex {
    built: RwLock<Option<Built>>,
}

/// The index as built at a client-cache generation.
struct Built {
    generation: u64,
    at: Instant,
    origins: Arc<HashSet<String>>,
}

impl OriginIndex {
    /// Whether any registered client allows `origin`. Reads the database only after a
    /// client changed (the client cache's generation moved) or the index aged out.
    pub async fn any_client_allows(
        &self,
        state: &AppState,
        origin: &str,
    ) -> Result<bool, sea_orm::DbErr> {
        let generation = state.clients.generation();
        if let Ok(built) = self.built.read() {
            if let Some(b) = built.as_ref() {
                if b.generation == generation && b.at.elapsed() < INDEX_MAX_AGE {
                    return Ok(b.origins.contains(origin));
                }
            }
        }
        let clients = crate::storage::clients::list(&state.db).await?;
        let set: HashSet<String> = clients.iter().flat_map(origins::allowed_origins).collect();
        let allowed = set.contains(origin);
        if let Ok(mut built) = self.built.write() {
            *built = Some(Built {
                generation,
                at: Instant::now(),
                origins: Arc::new(set),
            });
        }
        Ok(allowed)
    }
}

/// Whether `path` is one of the CORS endpoints.
pub fn applies(path: &str) -> bool {
    matches!(
        path,
        super::token_endpoint::PATH | super::userinfo::PATH | super::revoke::PATH
    )
}

/// Runs a request to a CORS endpoint (see [`applies`]): answers a preflight itself, and
/// adds the CORS headers its origin may have to the handler's response. Called by
/// `guard::guard`, the one middleware in front of every route, so the token path pays no
/// layer of its own for it.
pub async fn handle(state: &AppState, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return with_vary(next.run(request).await);
    };
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let methods = if request.uri().path() == super::userinfo::PATH {
            "GET, POST"
        } else {
            "POST"
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        if Box::pin(allowed(state, &origin, None)).await {
            let headers = response.headers_mut();
            allow_origin(headers, &origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(methods),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
        }
        return with_vary(response);
    }
    let mut response = next.run(request).await;
    let client = response.extensions().get::<CorsClient>().cloned();
    if Box::pin(allowed(state, &origin, client.as_ref())).await {
        let headers = response.headers_mut();
        allow_origin(headers, &origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate"),
        );
    }
    with_vary(response)
}

/// Whether `origin` may read the answer: the named client's origins, or any client's when
/// none was named. A storage failure allows nothing (the browser then sees a CORS error).
async fn allowed(state: &AppState, origin: &str, client: Option<&CorsClient>) -> bool {
    if origin == "null" {
        return false;
    }
    let result = match client {
        Some(CorsClient(id)) => state
            .clients
            .get(&state.db, id)
            .await
            .map(|c| c.is_some_and(|c| origins::allows(&c, origin))),
        None => state.cors.any_client_allows(state, origin).await,
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read clients for a CORS check; refusing the origin");
        false
    })
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}

fn with_vary(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    response
}
