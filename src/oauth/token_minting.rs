//! Minting the tokens the server hands out: RFC 9068 JWT access tokens and OIDC ID tokens
//! (refresh tokens: `oauth::refresh_token_format`).
use serde_json::{json, Map, Value};

use crate::authz::TokenAuthz;
use crate::jose::jwt::{self, JwtError};
use crate::state::AppState;
use crate::storage::users::User;
use crate::types::Scopes;
use crate::types::SigningAlg;

/// Who and what an access token is for.
pub struct AccessGrant<'a> {
    /// The user's id, or the client's id for client credentials.
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scopes,
    pub audience: String,
    /// The token family the token descends from (revoking it revokes the token).
    pub family_id: Option<&'a str>,
    pub auth_time: Option<i64>,
    /// Roles, groups and organization (`crate::authz`), read when the token is issued.
    pub authz: &'a TokenAuthz,
    /// The API key the token was exchanged for (revoking the key revokes the token).
    pub api_key_id: Option<&'a str>,
    /// Seconds the token lives; None: `TESSERA_ACCESS_TOKEN_TTL`.
    pub lifetime: Option<i64>,
}

/// Signs an RFC 9068 access token; needs no database write.
pub fn access_token(
    state: &AppState,
    grant: &AccessGrant<'_>,
    now: i64,
) -> Result<String, JwtError> {
    access_token_with_jti(state, grant, now).map(|(token, _)| token)
}

/// [`access_token`] and its `jti` (the id the audit log records instead of the token).
pub fn access_token_with_jti(
    state: &AppState,
    grant: &AccessGrant<'_>,
    now: i64,
) -> Result<(String, String), JwtError> {
    let settings = &state.settings;
    let jti = crate::secrets::token_id();
    let claims = AccessClaims {
        issuer: settings.issuer_str(),
        grant,
        expires: now + grant.lifetime.unwrap_or(settings.access_token_ttl),
        issued: now,
        jti: &jti,
        roles_claim: &settings.roles_claim,
    };
    let token = jwt::sign(&state.keys, settings.access_token_alg, "at+jwt", &claims)?;
    Ok((token, jti))
}

/// The claims of an access token (RFC 9068 §2.2), serialized as the JSON object they make
/// without a map built first: this is every grant's path.
struct AccessClaims<'a> {
    issuer: &'a str,
    grant: &'a AccessGrant<'a>,
    expires: i64,
    issued: i64,
    jti: &'a str,
    roles_claim: &'a str,
}

impl serde::Serialize for AccessClaims<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let grant = self.grant;
        let mut claims = serializer.serialize_map(None)?;
        claims.serialize_entry("iss", self.issuer)?;
        claims.serialize_entry("sub", grant.subject)?;
        claims.serialize_entry("aud", &grant.audience)?;
        claims.serialize_entry("exp", &self.expires)?;
        claims.serialize_entry("iat", &self.issued)?;
        claims.serialize_entry("jti", self.jti)?;
        claims.serialize_entry("client_id", grant.client_id)?;
        claims.serialize_entry("scope", &DisplayAsString(grant.scope))?;
        if let Some(auth_time) = grant.auth_time {
            claims.serialize_entry("auth_time", &auth_time)?;
        }
        if let Some(family) = grant.family_id {
            claims.serialize_entry(FAMILY_CLAIM, family)?;
        }
        grant
            .authz
            .serialize_claims(self.roles_claim, &mut claims)?;
        if let Some(key) = grant.api_key_id {
            claims.serialize_entry(API_KEY_CLAIM, key)?;
        }
        claims.end()
    }
}

/// A value serialized as the string its `Display` writes (a scope as its space-separated
/// list), without an intermediate `String`.
struct DisplayAsString<'a, T: std::fmt::Display>(&'a T);

impl<T: std::fmt::Display> serde::Serialize for DisplayAsString<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Private claim naming the token family of a user-bound access token.
pub const FAMILY_CLAIM: &str = "tsr_fam";

/// Private claim naming the API key an access token was exchanged for.
pub const API_KEY_CLAIM: &str = "tsr_key";

/// Claims about the user that `scopes` allow (OIDC Core §5.4).
pub fn user_claims(user: &User, scopes: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), user.id.clone().into());
    if scopes.contains("profile") {
        claims.insert("preferred_username".into(), user.username.clone().into());
        if let Some(name) = &user.name {
            claims.insert("name".into(), name.clone().into());
        }
        claims.insert("updated_at".into(), user.updated_at.into());
    }
    if scopes.contains("email") {
        if let Some(email) = &user.email {
            claims.insert("email".into(), email.clone().into());
            claims.insert("email_verified".into(), user.email_verified.into());
        }
    }
    claims
}

pub struct IdTokenInput<'a> {
    pub user: &'a User,
    pub client_id: &'a str,
    pub alg: SigningAlg,
    pub scope: &'a Scopes,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub amr: &'a str,
    pub idp: Option<&'a str>,
    pub access_token: &'a str,
    /// The login session (OIDC Back-Channel Logout §2.1 `sid`).
    pub sid: Option<&'a str>,
    /// Roles, groups and organization, as in the access token issued with it.
    pub authz: &'a TokenAuthz,
}

/// Signs an ID token (OIDC Core §2, §3.1.3.6) with the client's registered algorithm.
pub fn id_token(state: &AppState, input: &IdTokenInput<'_>, now: i64) -> Result<String, JwtError> {
    let mut claims = user_claims(input.user, input.scope);
    claims.insert("iss".into(), state.settings.issuer_str().into());
    claims.insert("aud".into(), input.client_id.into());
    claims.insert("azp".into(), input.client_id.into());
    claims.insert("exp".into(), (now + state.settings.id_token_ttl).into());
    claims.insert("iat".into(), now.into());
    claims.insert("auth_time".into(), input.auth_time.into());
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    claims.insert(
        "at_hash".into(),
        crate::secrets::left_half_hash(input.access_token).into(),
    );
    claims.insert("amr".into(), json!([input.amr]));
    if let Some(idp) = input.idp {
        claims.insert("idp".into(), idp.into());
    }
    if let Some(sid) = input.sid {
        claims.insert("sid".into(), sid.into());
    }
    input.authz.write(&state.settings.roles_claim, &mut claims);
    jwt::sign(&state.keys, input.alg, "JWT", &claims)
}

/// The event of a back-channel logout token (OIDC Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Signs a logout token (OIDC Back-Channel Logout 1.0 §2.4) for `client_id`: `typ`
/// `logout+jwt`, `sub` and `sid`, the logout event, never a `nonce`; with the client's
/// ID-token algorithm, as its ID tokens were.
pub fn logout_token(
    keys: &crate::jose::keys::Keys,
    issuer: &str,
    client_id: &str,
    alg: SigningAlg,
    user_id: &str,
    sid: Option<&str>,
    now: i64,
) -> Result<String, JwtError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.into());
    claims.insert("aud".into(), client_id.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + 120).into());
    claims.insert("jti".into(), crate::secrets::token_id().into());
    claims.insert("sub".into(), user_id.into());
    if let Some(sid) = sid {
        claims.insert("sid".into(), sid.into());
    }
    claims.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    jwt::sign(keys, alg, "logout+jwt", &claims)
}

/// The token endpoint's successful response (RFC 6749 §5.1).
#[derive(serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693 §2.2.1: what a token exchange issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}
