//! Client metadata as JSON (RFC 7591 §2, OpenID Connect Dynamic Client Registration 1.0
//! §2): reading a registration request into [`ClientMetadata`] and writing a client back.
//! Every malformed body or wrong type is `invalid_client_metadata`, never a server error.
use serde_json::{json, Map, Value};

use super::{ClientError, ClientMetadata};
use crate::storage::clients::Client;
use crate::types::{AuthMethod, SigningAlg};

/// Largest registration request read.
pub const MAX_BODY: usize = 64 * 1024;

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::InvalidMetadata(message.into())
}

/// A JSON object; anything else is `invalid_client_metadata`.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ClientError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("the request body must be a JSON object")),
        Err(e) => Err(invalid(format!("the request body is not valid JSON: {e}"))),
    }
}

fn string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ClientError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{field} must be a string"))),
    }
}

fn strings(map: &Map<String, Value>, field: &str) -> Result<Vec<String>, ClientError> {
    let refuse = || invalid(format!("{field} must be an array of strings"));
    match map.get(field) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(refuse))
            .collect(),
        Some(_) => Err(refuse()),
    }
}

fn boolean(map: &Map<String, Value>, field: &str) -> Result<bool, ClientError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("{field} must be true or false"))),
    }
}

/// Reads a registration request. Unknown fields are ignored (RFC 7591 §2); `client_id` and
/// `client_secret` are the server's to choose and are not read.
pub fn metadata_from_json(map: &Map<String, Value>) -> Result<ClientMetadata, ClientError> {
    let redirect_uris = strings(map, "redirect_uris")?;
    let auth_method = match string(map, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(&m).ok_or_else(|| {
            invalid(format!(
                "token_endpoint_auth_method {m:.40} is not supported (use client_secret_basic, client_secret_post, private_key_jwt or none)"
            ))
        })?,
    };
    // RFC 7591 §2: grant_types defaults to authorization_code, response_types to code.
    let mut grant_types = strings(map, "grant_types")?;
    if grant_types.is_empty() {
        grant_types = vec!["authorization_code".into()];
    }
    let response_types = match map.get("response_types") {
        None | Some(Value::Null) => vec!["code".to_string()],
        Some(_) => strings(map, "response_types")?,
    };
    if let Some(other) = response_types.iter().find(|r| *r != "code") {
        return Err(invalid(format!(
            "response_type {other:.40} is not supported (only code)"
        )));
    }
    let code_grant = grant_types.iter().any(|g| g == "authorization_code");
    if code_grant != response_types.iter().any(|r| r == "code") {
        return Err(invalid(
            "grant_types and response_types disagree: authorization_code goes with the response type code (RFC 7591 §2.1)",
        ));
    }
    let id_token_alg = match string(map, "id_token_signed_response_alg")? {
        None => SigningAlg::Rs256,
        Some(alg) => SigningAlg::parse(&alg).ok_or_else(|| {
            invalid(format!(
                "id_token_signed_response_alg {alg:.40} is not supported (use RS256 or ES256)"
            ))
        })?,
    };
    let jwks = match map.get("jwks") {
        None | Some(Value::Null) => None,
        Some(Value::Object(jwks)) => Some(Value::Object(jwks.clone()).to_string()),
        Some(_) => return Err(invalid("jwks must be a JSON Web Key Set object")),
    };
    let scopes = string(map, "scope")?
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(ClientMetadata {
        name: string(map, "client_name")?.unwrap_or_default(),
        redirect_uris,
        public: auth_method == AuthMethod::None,
        grant_types,
        scopes,
        id_token_alg,
        auth_method: Some(auth_method),
        jwks,
        jwks_uri: string(map, "jwks_uri")?,
        client_id: None,
        client_uri: string(map, "client_uri")?,
        logo_uri: string(map, "logo_uri")?,
        policy_uri: string(map, "policy_uri")?,
        tos_uri: string(map, "tos_uri")?,
        post_logout_redirect_uris: strings(map, "post_logout_redirect_uris")?,
        backchannel_logout_uri: string(map, "backchannel_logout_uri")?,
        backchannel_logout_session_required: boolean(map, "backchannel_logout_session_required")?,
        allowed_cors_origins: strings(map, "allowed_cors_origins")?,
    })
}

/// A client's metadata as RFC 7591 §3.2.1 returns it (never its secret or token hashes).
pub fn client_to_json(client: &Client) -> Value {
    let response_types: Vec<&str> = if client.allows_grant("authorization_code") {
        vec!["code"]
    } else {
        vec![]
    };
    let mut value = json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": client.auth_method.as_str(),
        "scope": client.scopes.to_string(),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "allowed_cors_origins": client.allowed_cors_origins,
    });
    for (field, v) in [
        ("client_uri", &client.client_uri),
        ("logo_uri", &client.logo_uri),
        ("policy_uri", &client.policy_uri),
        ("tos_uri", &client.tos_uri),
        ("backchannel_logout_uri", &client.backchannel_logout_uri),
        ("jwks_uri", &client.jwks_uri),
    ] {
        if let Some(v) = v {
            value[field] = json!(v);
        }
    }
    if let Some(jwks) = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str::<Value>(j).ok())
    {
        value["jwks"] = jwks;
    }
    value
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<ClientMetadata, ClientError> {
        metadata_from_json(&parse_body(body.as_bytes())?)
    }

    #[test]
    fn bodies_and_types_are_checked() {
        for body in [
            "",
            "not json",
            "[]",
            "\"x\"",
            r#"{"redirect_uris": "https://a.example/cb"}"#,
            r#"{"redirect_uris": [1]}"#,
            r#"{"client_name": 5}"#,
            r#"{"grant_types": ["implicit"], "response_types": ["token"]}"#,
            r#"{"response_types": []}"#,
            r#"{"grant_types": ["client_credentials"]}"#,
            r#"{"token_endpoint_auth_method": "client_secret_jwt"}"#,
            r#"{"id_token_signed_response_alg": "none"}"#,
            r#"{"jwks_uri": 5}"#,
            r#"{"jwks": "keys"}"#,
            r#"{"backchannel_logout_session_required": "yes"}"#,
        ] {
            assert!(
                matches!(read(body), Err(ClientError::InvalidMetadata(_))),
                "{body}"
            );
        }
        let m = read(
            r#"{"redirect_uris": ["https://a.example/cb"], "scope": "openid api", "unknown": 1}"#,
        )
        .unwrap();
        assert_eq!(m.grant_types, ["authorization_code"]);
        assert_eq!(m.scopes, ["openid", "api"]);
        assert_eq!(m.auth_method, Some(AuthMethod::ClientSecretBasic));
        let m = read(r#"{"grant_types": ["client_credentials"], "response_types": [], "token_endpoint_auth_method": "none"}"#).unwrap();
        assert!(m.public);
    }
}
