//! Signing and verifying the server's own JWTs (ID tokens, RFC 9068 access tokens).
use josekit::jws::{self, JwsHeader};
use josekit::jwt;
use serde::Serialize;
use serde_json::{Map, Value};

use super::keys::Keys;
use crate::types::SigningAlg;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    #[error("unknown key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
    #[error("wrong token type")]
    WrongType,
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Signs `claims` (a JSON object: a claims map, or a claims type that serializes as one)
/// with the server's active key for `alg`; `typ` goes into the header. The claims are
/// serialized straight into the JWS payload: an access token's claims are a typed value
/// (`token_minting`), so the token path builds no map of them.
pub fn sign(
    keys: &Keys,
    alg: SigningAlg,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, JwtError> {
    let set = keys.signing();
    let key = set.active(alg);
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    header.set_key_id(&key.kid);
    let payload = serde_json::to_vec(claims).map_err(|e| JwtError::Signing(e.to_string()))?;
    jws::serialize_compact(&payload, &header, key.signer())
        .map_err(|e| JwtError::Signing(e.to_string()))
}

/// Verifies a JWT signed by one of the server's keys and returns its claims. Only ES256 and
/// RS256 are accepted (never `none`), and only with the `kid` of a published key of that
/// algorithm (next, active or retiring: a retired key's tokens fail); `typ` must
/// equal `expected_typ` (case-insensitively, as RFC 9068 allows the `application/` prefix).
/// Time-based claims are the caller's to check.
pub fn verify(
    keys: &Keys,
    token: &str,
    expected_typ: &str,
) -> Result<Map<String, Value>, JwtError> {
    if token.len() > 8192 || token.split('.').count() != 3 {
        return Err(JwtError::Malformed);
    }
    let header = jwt::decode_header(token).map_err(|_| JwtError::Malformed)?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .and_then(SigningAlg::parse)
        .ok_or(JwtError::AlgorithmNotAllowed)?;
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .ok_or(JwtError::UnknownKey)?;
    let set = keys.signing();
    let verifier = set.verifier(alg, kid).ok_or(JwtError::UnknownKey)?;
    let typ = header
        .claim("typ")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    if typ != expected_typ {
        return Err(JwtError::WrongType);
    }
    let (payload, _) =
        jwt::decode_with_verifier(token, verifier).map_err(|_| JwtError::BadSignature)?;
    Ok(payload.claims_set().clone())
}
