//! Parsing of protocol parameters: strict `application/x-www-form-urlencoded` (no duplicates,
//! valid UTF-8 without control characters, bounded sizes) and newtypes that can only hold
//! valid values. Every query and form value of every endpoint passes through `Params::parse`,
//! so nothing that PostgreSQL refuses (a NUL byte) or that no protocol value may contain
//! reaches a query.
use std::collections::HashMap;

use axum::extract::FromRequest;
use axum::http::{header, Request};
use percent_encoding::percent_decode;

use super::error::{OAuthError, OAuthResult};

const MAX_PARAMS: usize = 64;
const MAX_VALUE_LEN: usize = 8192;
const MAX_NAME_LEN: usize = 128;
pub const MAX_BODY: usize = 64 * 1024;

/// Protocol parameters, each present at most once. Empty values count as absent (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses an urlencoded string. Duplicates, invalid UTF-8, control characters and
    /// oversized values are `invalid_request` (RFC 6749 §3.1, §3.2: parameters MUST NOT be
    /// included more than once; Appendix A: every protocol value is printable).
    pub fn parse(raw: &[u8]) -> OAuthResult<Params> {
        let mut map = HashMap::new();
        for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if map.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            if value.len() > 3 * MAX_VALUE_LEN || name.len() > 3 * MAX_NAME_LEN {
                return Err(OAuthError::invalid_request("a parameter is too long"));
            }
            let name = decode(name)?;
            let value = decode(value)?;
            if !is_clean(&name) {
                return Err(OAuthError::invalid_request(
                    "parameter names must not contain control characters",
                ));
            }
            if value.len() > MAX_VALUE_LEN || name.len() > MAX_NAME_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name:.40} is too long"
                )));
            }
            if !is_clean(&value) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name:.40} must not contain control characters"
                )));
            }
            if value.is_empty() {
                continue;
            }
            if map.insert(name.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name:.40} is included more than once"
                )));
            }
        }
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> OAuthResult<&str> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// True when `value` holds no control character (C0, DEL, C1): none is valid in a protocol
/// value (RFC 6749 Appendix A), a NUL is refused by PostgreSQL, and the rest only serve to
/// forge log lines or confuse a comparison.
pub fn is_clean(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

fn decode(raw: &[u8]) -> OAuthResult<String> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("parameters must be valid UTF-8"))
}

/// A POST body of `application/x-www-form-urlencoded` parameters; anything else is
/// `invalid_request` as JSON, never axum's plain-text rejection.
pub struct FormParams(pub Params);

impl<S: Send + Sync> FromRequest<S> for FormParams {
    type Rejection = OAuthError;

    async fn from_request(
        req: Request<axum::body::Body>,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if !is_form(req.headers()) {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                OAuthError::invalid_request("the request body is too large or unreadable")
            })?;
        Params::parse(&body).map(FormParams)
    }
}

pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// RFC 7636 §4.1/4.2 charset and length: 43–128 unreserved characters.
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 `code_challenge` (RFC 7636 §4.2).
#[derive(Clone, Debug)]
pub struct CodeChallenge(pub String);

impl CodeChallenge {
    pub fn parse(value: &str) -> OAuthResult<Self> {
        if is_pkce_value(value) {
            Ok(CodeChallenge(value.to_string()))
        } else {
            Err(OAuthError::invalid_request(
                "code_challenge must be 43-128 unreserved characters",
            ))
        }
    }
}

/// A `code_verifier` (RFC 7636 §4.1).
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(value: &str) -> OAuthResult<Self> {
        if is_pkce_value(value) {
            Ok(CodeVerifier(value.to_string()))
        } else {
            Err(OAuthError::invalid_grant(
                "code_verifier must be 43-128 unreserved characters",
            ))
        }
    }

    /// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time.
    pub fn matches(&self, challenge: &str) -> bool {
        use base64::Engine;
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        crate::secrets::constant_time_eq(&computed, challenge)
    }
}
