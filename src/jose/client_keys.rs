//! Verifying `private_key_jwt` client assertions (RFC 7523) against a client's registered JWKS.
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{JwsVerifier, ES256, PS256, RS256};
use josekit::jwt;
use serde_json::{Map, Value};

/// Algorithms a client may sign its assertion with.
pub const ASSERTION_ALGS: &[&str] = &["RS256", "PS256", "ES256"];

/// Checks that `jwks` is a JWK set holding at least one public key we can verify with.
pub fn parse_client_jwks(jwks: &str) -> Result<JwkSet, String> {
    let set = JwkSet::from_bytes(jwks.as_bytes()).map_err(|e| format!("not a JWK set: {e}"))?;
    if set.keys().is_empty() {
        return Err("the JWK set holds no keys".into());
    }
    for key in set.keys() {
        if key.parameter("d").is_some() {
            return Err("the JWK set holds a private key: register public keys only".into());
        }
    }
    Ok(set)
}

fn verifier_for(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    match alg {
        "RS256" => RS256
            .verifier_from_jwk(jwk)
            .ok()
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        "PS256" => PS256
            .verifier_from_jwk(jwk)
            .ok()
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        "ES256" => ES256
            .verifier_from_jwk(jwk)
            .ok()
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        _ => None,
    }
}

/// Verifies the assertion's signature with a key from `jwks` and returns its claims.
pub fn verify_assertion(jwks: &str, assertion: &str) -> Option<Map<String, Value>> {
    if assertion.len() > 8192 {
        return None;
    }
    let set = parse_client_jwks(jwks).ok()?;
    let header = jwt::decode_header(assertion).ok()?;
    let alg = header.claim("alg")?.as_str()?.to_string();
    if !ASSERTION_ALGS.contains(&alg.as_str()) {
        return None;
    }
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let candidates: Vec<&Jwk> = match &kid {
        Some(kid) => set.get(kid),
        None => set.keys(),
    };
    for jwk in candidates {
        if let Some(verifier) = verifier_for(&alg, jwk) {
            if let Ok((payload, _)) = jwt::decode_with_verifier(assertion, verifier.as_ref()) {
                return Some(payload.claims_set().clone());
            }
        }
    }
    None
}

/// The `sub` of an assertion before its signature is checked: only to find whose keys to
/// verify it with (RFC 7523 §3: `sub` is the client_id).
pub fn unverified_subject(assertion: &str) -> Option<String> {
    use base64::Engine;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}
