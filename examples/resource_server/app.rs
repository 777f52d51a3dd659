//! The example resource server's logic, shared by `main.rs` and the test in
//! `tests/api/resource_server.rs`: an axum router whose routes each require a scope (and one
//! a role) of the caller, who presents either a Tessera JWT access token, verified offline
//! against the JWKS, or a Tessera API key (`tsk_...`), checked by introspection with this
//! server's own client credentials. Refusals follow RFC 6750 §3.
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{OnceCell, RwLock};

/// What this resource server is, to Tessera.
#[derive(Clone, Debug)]
pub struct Config {
    /// Tessera's issuer URL (`iss` of its tokens; discovery lives under it).
    pub issuer: String,
    /// This API's resource indicator: tokens must name it in `aud`.
    pub audience: String,
    /// This API's own client, registered as an introspecting client of the resource.
    pub client_id: String,
    pub client_secret: String,
    /// The claim that carries the caller's roles: Tessera's `TESSERA_ROLES_CLAIM` (`roles`
    /// unless the server was configured otherwise).
    pub roles_claim: String,
}

/// Shortest time between two JWKS fetches caused by an unknown `kid`, so that tokens with
/// made-up key ids cannot make us hammer Tessera.
const MIN_REFETCH: Duration = Duration::from_secs(1);
const REALM: &str = "example-api";

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
    introspection_endpoint: String,
}

/// Verifies what callers present; holds the cached JWKS.
pub struct Verifier {
    config: Config,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
    jwks: RwLock<Option<JwkSet>>,
    last_refetch: RwLock<Option<Instant>>,
}

/// Who is calling, and what they may do.
#[derive(Clone, Debug)]
pub struct Caller {
    pub sub: String,
    pub scopes: Vec<String>,
    /// From the roles claim (`Config::roles_claim`, an array of strings) of the token or
    /// introspection answer.
    pub roles: Vec<String>,
    /// `jwt` or `api_key`.
    pub via: &'static str,
}

/// Why a request is refused (RFC 6750 §3.1).
#[derive(Debug)]
pub enum Denied {
    /// No credentials: a challenge without an error code.
    Unauthenticated,
    InvalidToken(&'static str),
    /// A scope is missing (`scope` says which), or a role is.
    InsufficientScope {
        scope: String,
        description: String,
    },
    /// Tessera could not be reached to check the credentials.
    Unavailable,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match &self {
            Denied::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer realm=\"{REALM}\""),
                json!({"error": "unauthenticated"}),
            ),
            Denied::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!("Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{why}\""),
                json!({"error": "invalid_token", "error_description": why}),
            ),
            Denied::InsufficientScope { scope, description } => (
                StatusCode::FORBIDDEN,
                if scope.is_empty() {
                    format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{description}\"")
                } else {
                    format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\", error_description=\"{description}\"")
                },
                json!({"error": "insufficient_scope", "scope": scope, "error_description": description}),
            ),
            Denied::Unavailable => {
                return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "temporarily_unavailable"})))
                    .into_response()
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl Caller {
    /// Refuses the request unless the caller was granted `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Denied> {
        if self.scopes.iter().any(|s| s == scope) {
            return Ok(());
        }
        Err(Denied::InsufficientScope {
            scope: scope.to_string(),
            description: format!("the {scope} scope is required"),
        })
    }

    /// Refuses the request unless the caller holds `role`.
    pub fn require_role(&self, role: &str) -> Result<(), Denied> {
        if self.roles.iter().any(|r| r == role) {
            return Ok(());
        }
        Err(Denied::InsufficientScope {
            scope: String::new(),
            description: format!("the {role} role is required"),
        })
    }
}

impl Verifier {
    pub fn new(config: Config) -> Arc<Verifier> {
        Arc::new(Verifier {
            config,
            http: reqwest::Client::new(),
            discovery: OnceCell::new(),
            jwks: RwLock::new(None),
            last_refetch: RwLock::new(None),
        })
    }

    async fn discovery(&self) -> Result<&Discovery, Denied> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let response = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .map_err(|_| Denied::Unavailable)?;
                response
                    .json::<Discovery>()
                    .await
                    .map_err(|_| Denied::Unavailable)
            })
            .await
    }

    async fn fetch_jwks(&self) -> Result<JwkSet, Denied> {
        let uri = &self.discovery().await?.jwks_uri;
        let response = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|_| Denied::Unavailable)?;
        let set: JwkSet = response.json().await.map_err(|_| Denied::Unavailable)?;
        *self.jwks.write().await = Some(set.clone());
        Ok(set)
    }

    /// The verification key of `kid`: from the cached JWKS, else from a fresh copy (Tessera
    /// publishes a key before it signs with it, so an unknown `kid` means our copy is old).
    async fn key(&self, kid: &str) -> Result<DecodingKey, Denied> {
        let cached = self.jwks.read().await.clone();
        let set = match cached {
            Some(set) if set.find(kid).is_some() => set,
            Some(_) => {
                let recently = self
                    .last_refetch
                    .read()
                    .await
                    .is_some_and(|at| at.elapsed() < MIN_REFETCH);
                if recently {
                    return Err(Denied::InvalidToken("unknown signing key"));
                }
                *self.last_refetch.write().await = Some(Instant::now());
                self.fetch_jwks().await?
            }
            None => self.fetch_jwks().await?,
        };
        let jwk = set
            .find(kid)
            .ok_or(Denied::InvalidToken("unknown signing key"))?;
        DecodingKey::from_jwk(jwk).map_err(|_| Denied::InvalidToken("unusable signing key"))
    }

    /// RFC 9068 §4: signature by a published key, `typ` `at+jwt`, our issuer, this API in
    /// `aud`, not expired.
    async fn verify_jwt(&self, token: &str) -> Result<Caller, Denied> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Denied::InvalidToken("malformed token"))?;
        if !matches!(header.alg, Algorithm::ES256 | Algorithm::RS256) {
            return Err(Denied::InvalidToken("unexpected algorithm"));
        }
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(Denied::InvalidToken("not an access token"));
        }
        let kid = header.kid.ok_or(Denied::InvalidToken("no key id"))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| Denied::InvalidToken("invalid, expired or not meant for this API"))?;
        Ok(caller(&data.claims, "jwt", &self.config.roles_claim))
    }

    /// RFC 7662: asks Tessera about an API key with this API's client credentials. Not
    /// cached, so a revoked key is refused at once.
    async fn introspect(&self, token: &str) -> Result<Caller, Denied> {
        let endpoint = &self.discovery().await?.introspection_endpoint;
        let response = self
            .http
            .post(endpoint)
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|_| Denied::Unavailable)?;
        if !response.status().is_success() {
            return Err(Denied::Unavailable);
        }
        let answer: Value = response.json().await.map_err(|_| Denied::Unavailable)?;
        if answer["active"] != true {
            return Err(Denied::InvalidToken(
                "the key is unknown, revoked or expired",
            ));
        }
        Ok(caller(&answer, "api_key", &self.config.roles_claim))
    }

    /// Who presents `authorization` (the header's value).
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, Denied> {
        let Some(value) = authorization else {
            return Err(Denied::Unauthenticated);
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(Denied::InvalidToken("use the Bearer scheme")),
        };
        if token.starts_with("tsk_") {
            self.introspect(token).await
        } else {
            self.verify_jwt(token).await
        }
    }
}

fn caller(claims: &Value, via: &'static str, roles_claim: &str) -> Caller {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Caller {
        sub: claims["sub"].as_str().unwrap_or_default().to_string(),
        scopes: claims["scope"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        roles: strings(&claims[roles_claim]),
        via,
    }
}

impl FromRequestParts<Arc<Verifier>> for Caller {
    type Rejection = Denied;

    async fn from_request_parts(
        parts: &mut Parts,
        verifier: &Arc<Verifier>,
    ) -> Result<Self, Denied> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        verifier.authenticate(authorization).await
    }
}

/// `GET /me` needs `api:read`; `GET /admin` needs `api:read` and the `admin` role.
pub fn router(verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .with_state(verifier)
}

async fn me(caller: Caller) -> Result<Json<Value>, Denied> {
    caller.require_scope("api:read")?;
    Ok(Json(
        json!({"sub": caller.sub, "via": caller.via, "roles": caller.roles}),
    ))
}

async fn admin(caller: Caller) -> Result<Json<Value>, Denied> {
    caller.require_scope("api:read")?;
    caller.require_role("admin")?;
    Ok(Json(json!({"sub": caller.sub, "admin": true})))
}
