//! OpenID Connect Discovery 1.0 and RFC 8414 metadata, advertising exactly what is
//! implemented; serialized once at start.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::Settings;
use crate::jose::client_keys::ASSERTION_ALGS;
use crate::state::AppState;

pub struct Documents {
    pub openid_configuration: Bytes,
    pub oauth_authorization_server: Bytes,
}

impl Documents {
    pub fn build(settings: &Settings) -> Documents {
        let e = |path: &str| settings.endpoint(path);
        let auth_methods = [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ];
        let endpoint_auth_methods = [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ];
        let mut doc = json!({
            "issuer": settings.issuer_str(),
            "authorization_endpoint": e(super::interaction::paths::AUTHORIZE),
            "token_endpoint": e(super::token_endpoint::PATH),
            "userinfo_endpoint": e(super::userinfo::PATH),
            "jwks_uri": e(JWKS_PATH),
            "introspection_endpoint": e(super::introspect::PATH),
            "revocation_endpoint": e(super::revoke::PATH),
            "end_session_endpoint": e(super::interaction::paths::LOGOUT),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "scopes_supported": ["openid", "profile", "email", "offline_access", "roles", "groups", "organization"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": crate::clients::metadata::GRANT_TYPES,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "introspection_endpoint_auth_methods_supported": endpoint_auth_methods,
            "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "idp", "sid",
                "name", "preferred_username", "updated_at", "email", "email_verified",
                settings.roles_claim, "groups", "org_id", "org_name"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": true,
            "claim_types_supported": ["normal"],
            "ui_locales_supported": crate::views::i18n::Lang::ALL.map(|l| l.tag()),
        });
        if settings.registration != crate::config::RegistrationPolicy::Off {
            doc["registration_endpoint"] = json!(e(super::register::PATH));
        }
        let openid = Bytes::from(doc.to_string());
        if let Some(map) = doc.as_object_mut() {
            // RFC 8414 has no subject-type member; the rest is shared.
            map.remove("subject_types_supported");
        }
        Documents {
            openid_configuration: openid,
            oauth_authorization_server: Bytes::from(doc.to_string()),
        }
    }
}

pub const JWKS_PATH: &str = "/jwks";

fn json_bytes(body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    json_bytes(state.discovery.openid_configuration.clone())
}

pub async fn oauth_authorization_server(State(state): State<AppState>) -> Response {
    json_bytes(state.discovery.oauth_authorization_server.clone())
}

/// The JWKS (RFC 7517 §5) of the published keys. Cacheable for less than the publish-ahead
/// time (see `jose::keys::jwks_max_age`), with a strong `ETag`; a matching `If-None-Match`
/// gets 304 (RFC 9110 §13.1.2).
pub async fn jwks(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let set = state.keys.signing();
    let max_age =
        crate::jose::keys::jwks_max_age(i64::from(state.settings.key_publish_ahead_seconds));
    let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let etag = HeaderValue::from_str(&set.jwks_etag).ok();
    let matched = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == set.jwks_etag);
    let mut response = if matched {
        axum::http::StatusCode::NOT_MODIFIED.into_response()
    } else {
        json_bytes(set.jwks_json.clone())
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, cache_control);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag);
    }
    response
}
