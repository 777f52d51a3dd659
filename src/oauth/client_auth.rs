//! Client authentication at the token, introspection and revocation endpoints (RFC 6749
//! §2.3, RFC 7523 §2.2). Each client is held to the one method it registered.
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

use super::error::{ErrorCode, OAuthError, OAuthResult};
use super::params::{is_clean, Params};
use crate::jose::client_keys;
use crate::secrets::{client_secret_hash, constant_time_eq};
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::throttle::Attempt;
use crate::types::AuthMethod;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request presented, before we look the client up.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Assertion { assertion: String },
    Public { id: String },
}

/// Every refusal looks the same to the client (no oracle for which ids exist); `why` tells
/// the log which check refused it.
fn failed(why: &'static str) -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_detail(why)
}

/// The `client_secret_basic` credentials of an `Authorization` header (RFC 6749 §2.3.1), if
/// there is one; anything malformed is `invalid_client`.
pub fn parse_basic(headers: &HeaderMap) -> OAuthResult<Option<(String, String)>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| failed("Authorization header is not visible ASCII"))?;
    let Some((scheme, credentials)) = value.split_once(' ') else {
        return Err(failed("Authorization header without a scheme"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(failed("Authorization scheme is not Basic"));
    }
    let malformed = || failed("Basic credentials are not base64 of UTF-8 id:secret");
    let decoded = STANDARD
        .decode(credentials.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    // Our secrets never contain ':' (base64url), so splitting at the last one also accepts
    // clients that do not form-encode a client_id containing colons.
    let (id, secret) = decoded.rsplit_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let unescape = |s: &str| -> OAuthResult<String> {
        if !s.contains(['+', '%']) {
            return Ok(s.to_string());
        }
        let s = s.replace('+', " ");
        percent_decode_str(&s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| malformed())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    // The same rule as for every form value: no control character reaches a query.
    if !is_clean(&id) || !is_clean(&secret) {
        return Err(failed("control character in Basic credentials"));
    }
    Ok(Some((id, secret)))
}

fn presented(headers: &HeaderMap, params: &Params) -> OAuthResult<Presented> {
    let basic = parse_basic(headers)?;
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let methods = basic.is_some() as u8 + post_secret.is_some() as u8 + assertion.is_some() as u8;
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        if params.get("client_id").is_some_and(|p| p != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the credentials",
            ));
        }
        return Ok(Presented::Basic { id, secret });
    }
    if let Some(secret) = post_secret {
        let id = params.require("client_id")?.to_string();
        return Ok(Presented::Post {
            id,
            secret: secret.to_string(),
        });
    }
    if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(
                "unsupported client_assertion_type",
            ));
        }
        return Ok(Presented::Assertion {
            assertion: assertion.to_string(),
        });
    }
    match params.get("client_id") {
        Some(id) => Ok(Presented::Public { id: id.to_string() }),
        None => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
    }
}

/// The client a request names, before (or without) authenticating it: whose CORS origins
/// apply to the answer (`oauth::cors`). When authentication succeeds it is the
/// authenticated client, since every method holds the client to the id it names.
pub fn named_client_id(headers: &HeaderMap, params: &Params) -> Option<String> {
    match presented(headers, params).ok()? {
        Presented::Basic { id, .. } | Presented::Post { id, .. } | Presented::Public { id } => {
            Some(id)
        }
        Presented::Assertion { assertion } => params
            .get("client_id")
            .map(str::to_string)
            .or_else(|| client_keys::unverified_subject(&assertion)),
    }
}

/// Authenticates the calling client from `ip`. `audience` is the URL of the endpoint called,
/// which a `private_key_jwt` assertion may name (as may the issuer). Failed credentials are
/// counted (`crate::throttle`); once too many, the client is answered 429 before any check.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    audience: &str,
    ip: IpAddr,
) -> OAuthResult<Arc<Client>> {
    let presented = presented(headers, params)?;
    // A public client presents nothing to guess; only credentials are throttled.
    let counted = match &presented {
        Presented::Basic { id, .. } | Presented::Post { id, .. } => Some(id.clone()),
        Presented::Assertion { assertion } => Some(
            params
                .get("client_id")
                .map(str::to_string)
                .or_else(|| client_keys::unverified_subject(assertion))
                .unwrap_or_default(),
        ),
        Presented::Public { .. } => None,
    };
    let Some(client_id) = counted else {
        return check_presented(state, presented, params, audience).await;
    };
    let now = state.clock.now();
    let attempt = Attempt::client(&client_id, ip);
    let check = state.throttle.check(&attempt, now).await?;
    if let Some(wait) = check.wait {
        return Err(OAuthError::too_many_attempts(wait.retry_after)
            .with_detail("client authentication throttled after failed attempts"));
    }
    let result = check_presented(state, presented, params, audience).await;
    match &result {
        Ok(_) => state.throttle.succeeded(&attempt, &check).await?,
        Err(e) if e.code == ErrorCode::InvalidClient => {
            if let Some(scope) = state.throttle.failed(&attempt, &check, now).await? {
                let event = crate::audit::AuditEvent::new(crate::audit::Kind::Lockout)
                    .client(&client_id)
                    .reason(scope.lock_reason());
                crate::audit::record(state, event);
                state.metrics.lockout();
            }
        }
        Err(_) => {}
    }
    result
}

async fn check_presented(
    state: &AppState,
    presented: Presented,
    params: &Params,
    audience: &str,
) -> OAuthResult<Arc<Client>> {
    match presented {
        Presented::Basic { id, secret } => {
            check_secret(state, &id, &secret, AuthMethod::ClientSecretBasic).await
        }
        Presented::Post { id, secret } => {
            check_secret(state, &id, &secret, AuthMethod::ClientSecretPost).await
        }
        Presented::Public { id } => {
            let client = state
                .clients
                .get(&state.db, &id)
                .await?
                .ok_or_else(|| failed("unknown client_id without credentials"))?;
            if client.auth_method != AuthMethod::None || !client.public {
                return Err(failed("confidential client presented no credentials"));
            }
            Ok(client)
        }
        Presented::Assertion { assertion } => {
            check_assertion(state, &assertion, params, audience).await
        }
    }
}

async fn check_secret(
    state: &AppState,
    id: &str,
    secret: &str,
    method: AuthMethod,
) -> OAuthResult<Arc<Client>> {
    let client = state.clients.get(&state.db, id).await?;
    let expected = client
        .as_ref()
        .and_then(|c| c.secret_hash.clone())
        .unwrap_or_default();
    let computed = client_secret_hash(&state.keys.client_secret_key, secret);
    let matches = constant_time_eq(&computed, &expected);
    match client {
        Some(client) if matches && client.auth_method == method && !client.public => Ok(client),
        None => Err(failed("unknown client_id")),
        Some(client) if client.public || client.secret_hash.is_none() => {
            Err(failed("client has no secret"))
        }
        Some(_) if !matches => Err(failed("wrong client secret")),
        Some(_) => Err(failed(
            "secret sent by a method the client did not register",
        )),
    }
}

/// The assertion's claims, its signature checked with the keys the client registered, or
/// those at its `jwks_uri` (fetched again once if they do not verify it: the client may
/// have rotated its keys).
async fn verified_claims(
    state: &AppState,
    client: &Client,
    assertion: &str,
) -> OAuthResult<serde_json::Map<String, Value>> {
    let refused = || failed("client assertion signature or algorithm refused");
    if let Some(jwks) = client.jwks.as_deref() {
        return client_keys::verify_assertion(jwks, assertion).ok_or_else(refused);
    }
    let uri = client
        .jwks_uri
        .as_deref()
        .ok_or_else(|| failed("client has no registered keys"))?;
    let unreachable = |e: String| {
        OAuthError::invalid_client("client authentication failed")
            .with_detail(format!("the client's jwks_uri gave no keys: {e}"))
    };
    for stale in [false, true] {
        let jwks = state
            .client_jwks
            .get(uri, stale)
            .await
            .map_err(unreachable)?;
        if let Some(claims) = client_keys::verify_assertion(&jwks, assertion) {
            return Ok(claims);
        }
    }
    Err(refused())
}

/// RFC 7523 §3: signature by a registered key, `iss` = `sub` = client, our endpoint or
/// issuer in `aud`, unexpired, and a `jti` never seen before.
async fn check_assertion(
    state: &AppState,
    assertion: &str,
    params: &Params,
    audience: &str,
) -> OAuthResult<Arc<Client>> {
    let client_id = match params.get("client_id") {
        Some(id) => id.to_string(),
        None => client_keys::unverified_subject(assertion)
            .ok_or_else(|| failed("client assertion without a readable sub"))?,
    };
    // Claims are JSON strings, which may hold any character: checked like form values.
    if !is_clean(&client_id) || client_id.len() > 255 {
        return Err(failed("client assertion sub is not a usable client_id"));
    }
    let client = state
        .clients
        .get(&state.db, &client_id)
        .await?
        .ok_or_else(|| failed("client assertion for an unknown client_id"))?;
    if client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(failed("client did not register private_key_jwt"));
    }
    let claims = verified_claims(state, &client, assertion).await?;
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if str_claim("iss") != Some(client_id.as_str()) || str_claim("sub") != Some(client_id.as_str())
    {
        return Err(failed("client assertion iss or sub is not the client"));
    }
    let issuer = state.settings.issuer_str();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience || *a == issuer,
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| a == audience || a == issuer),
        _ => false,
    };
    let now = state.clock.now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| failed("client assertion without exp"))?;
    if !aud_ok {
        return Err(failed(
            "client assertion aud names neither us nor the endpoint",
        ));
    }
    if exp <= now - 30 || exp > now + 3600 {
        return Err(failed("client assertion expired or valid too far ahead"));
    }
    let jti = str_claim("jti")
        .filter(|jti| is_clean(jti) && jti.len() <= 255)
        .ok_or_else(|| failed("client assertion without a usable jti"))?;
    let fresh = crate::storage::assertions::remember_assertion(
        &state.db,
        &format!("{client_id}\n{jti}"),
        exp + 60,
    )
    .await?;
    if !fresh {
        return Err(OAuthError::invalid_client(
            "client assertion was already used",
        ));
    }
    Ok(client)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> OAuthResult<Option<(String, String)>> {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        parse_basic(&headers)
    }

    #[test]
    fn basic_credentials_are_form_decoded_only_where_encoded() {
        let plain = basic("client-1:s3cr3t_-x").unwrap().unwrap();
        assert_eq!(plain, ("client-1".into(), "s3cr3t_-x".into()));
        let encoded = basic("urn%3Aapp+one:a%2Bb+c").unwrap().unwrap();
        assert_eq!(encoded, ("urn:app one".into(), "a+b c".into()));
        assert!(
            basic("id:%0Asecret").is_err(),
            "a control character, once decoded"
        );
        assert!(basic("id:%FF").is_err(), "not UTF-8 once decoded");
        assert!(basic("no-colon").is_err());
    }
}
