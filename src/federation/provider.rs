//! Talking to upstream providers through the `openidconnect` crate: discovery (cached per
//! upstream, re-read when the signing keys rotate), the authorization URL (code + PKCE S256 +
//! `state` + `nonce`), the code exchange, and full ID-token validation. No axum here.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, JwsSigningAlgorithm, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, RwLock};

use super::upstream::{quirks, Quirks};
use crate::jose::keys::Keys;
use crate::storage::upstreams::Upstream;

/// Every upstream call (discovery, JWKS, token, userinfo) gives up after this long.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Cached metadata older than this is discovered again on the next login.
const METADATA_TTL: i64 = 3600;
/// How far in the future an ID token's `iat` may be (clock skew between servers).
const MAX_IAT_SKEW: i64 = 300;

/// Claims beyond the standard ones that we read from upstream ID tokens.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct UpstreamClaims {
    /// Google Workspace hosted domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hd: Option<String>,
}

impl AdditionalClaims for UpstreamClaims {}

type IdTokenFields = openidconnect::IdTokenFields<
    UpstreamClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<IdTokenFields, CoreTokenType>;
type IdToken = openidconnect::IdToken<
    UpstreamClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type IdTokenClaims = openidconnect::IdTokenClaims<UpstreamClaims, CoreGenderClaim>;
type Client = openidconnect::Client<
    UpstreamClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why talking to an upstream failed. The strings are for logs, never for the page.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Discovery, JWKS, the token endpoint or its answer failed: the upstream is down,
    /// unreachable, or misconfigured.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (RFC 6749 §5.2 error).
    #[error("token request refused: {0}")]
    Refused(String),
    /// The ID token failed validation (signature, iss, aud, exp, iat, nonce, azp).
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
}

/// An upstream login, as the verified ID token (and userinfo) describe it.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The verified `iss`: the upstream's issuer exactly.
    pub issuer: String,
    pub subject: String,
    /// Absent when the upstream sent none, or (Google) sent one it has not verified.
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub hosted_domain: Option<String>,
    /// When the user authenticated at the upstream (`auth_time`, OIDC Core §2), if it said.
    pub auth_time: Option<i64>,
}

/// What the app's request asks of the authentication, passed on to the upstream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reauthentication {
    pub prompt_login: bool,
    pub max_age: Option<i64>,
}

/// What the browser must carry to the upstream, and what we keep to check its answer.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The callback's answer to a started login.
pub struct Callback<'a> {
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
}

#[derive(Clone)]
struct Cached {
    issuer: String,
    metadata: CoreProviderMetadata,
    fetched_at: i64,
}

/// Provider metadata and keys per upstream, shared by every request of this instance.
pub struct Federation {
    http: OnceCell<reqwest::Client>,
    cache: RwLock<HashMap<String, Cached>>,
    /// Opens the upstream client secrets, stored sealed (see `jose::master_key`).
    keys: Arc<Keys>,
}

/// The HTTP client for upstream calls: no redirects (a token endpoint that redirects is
/// broken or hostile), short timeouts.
pub fn http_client() -> Result<reqwest::Client, UpstreamError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpstreamError::Unavailable(format!("cannot build an HTTP client: {e}")))
}

/// Fetches and validates an issuer's discovery document and keys (OIDC Discovery §4).
pub async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<CoreProviderMetadata, UpstreamError> {
    let issuer_url = IssuerUrl::new(issuer.to_string())
        .map_err(|e| UpstreamError::Unavailable(format!("invalid issuer URL {issuer}: {e}")))?;
    CoreProviderMetadata::discover_async(issuer_url, http)
        .await
        .map_err(|e| {
            let detail = match &e {
                DiscoveryError::Request(inner) => format!("{e}: {}", error_chain(inner)),
                _ => e.to_string(),
            };
            UpstreamError::Unavailable(format!("discovery of {issuer} failed: {detail}"))
        })
}

impl Federation {
    pub fn new(keys: Arc<Keys>) -> Federation {
        Federation {
            http: OnceCell::new(),
            cache: RwLock::default(),
            keys,
        }
    }

    /// The upstream's client secret, opened.
    fn client_secret(&self, upstream: &Upstream) -> Result<String, UpstreamError> {
        self.keys
            .master()
            .open_string(
                &crate::jose::master_key::upstream_label(&upstream.name),
                &upstream.client_secret,
            )
            .map_err(|e| {
                UpstreamError::Unavailable(format!("cannot open the stored client secret: {e}"))
            })
    }

    fn http(&self) -> Result<&reqwest::Client, UpstreamError> {
        // `get` then `set` instead of `get_or_try_init`: building is synchronous and cheap.
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let _ = self.http.set(http_client()?);
        self.http
            .get()
            .ok_or_else(|| UpstreamError::Unavailable("no HTTP client".into()))
    }

    /// The upstream's metadata and keys: from the cache unless `refresh`, the entry is older
    /// than an hour, or the upstream's issuer changed since it was cached.
    pub async fn metadata(
        &self,
        upstream: &Upstream,
        now: i64,
        refresh: bool,
    ) -> Result<CoreProviderMetadata, UpstreamError> {
        if !refresh {
            if let Some(cached) = self.cache.read().await.get(&upstream.name) {
                if cached.issuer == upstream.issuer && now - cached.fetched_at < METADATA_TTL {
                    return Ok(cached.metadata.clone());
                }
            }
        }
        // The lock is not held across the network call: a slow upstream blocks no one else.
        let metadata = discover(self.http()?, &upstream.issuer).await?;
        self.cache.write().await.insert(
            upstream.name.clone(),
            Cached {
                issuer: upstream.issuer.clone(),
                metadata: metadata.clone(),
                fetched_at: now,
            },
        );
        Ok(metadata)
    }

    /// Builds the authorization URL (OIDC Core §3.1.2.1) with fresh `state`, `nonce` and a
    /// PKCE S256 challenge (RFC 7636), plus the upstream's quirks. What the app asked of the
    /// authentication is passed on: `prompt=login`, and `max_age` (the user must have
    /// authenticated at the upstream that recently), so a federated login never claims a
    /// fresher authentication than the upstream made.
    pub async fn start(
        &self,
        upstream: &Upstream,
        callback: &str,
        now: i64,
        reauthentication: Reauthentication,
    ) -> Result<Started, UpstreamError> {
        let metadata = self.metadata(upstream, now, false).await?;
        let client = client(upstream, self.client_secret(upstream)?, metadata, callback)?;
        let quirks = quirks(upstream);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in upstream.scopes.split(' ') {
            // The library always sends `openid` itself.
            if !scope.is_empty() && scope != "openid" {
                request = request.add_scope(Scope::new(scope.to_string()));
            }
        }
        let mut max_age = reauthentication.max_age;
        if quirks.select_account {
            request = request.add_prompt(CoreAuthPrompt::SelectAccount);
            // Google takes no `prompt=login`; it re-authenticates for `max_age=0`.
            if reauthentication.prompt_login {
                max_age = Some(0);
            }
        } else if reauthentication.prompt_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        if let Some(seconds) = max_age {
            request = request.set_max_age(std::time::Duration::from_secs(seconds.max(0) as u64));
        }
        if let Some(domain) = &quirks.hosted_domain {
            request = request.add_extra_param("hd", domain.clone());
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier) and validates the ID token fully: signature
    /// against the upstream's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`, `azp` (OIDC Core
    /// §3.1.3.7). A signature by a key we do not know makes us re-read the upstream's keys
    /// once (OIDC Core §10.1.1 rotation) before giving up.
    pub async fn finish(
        &self,
        upstream: &Upstream,
        callback_url: &str,
        callback: Callback<'_>,
        now: i64,
    ) -> Result<Identity, UpstreamError> {
        let http = self.http()?;
        let mut client = client(
            upstream,
            self.client_secret(upstream)?,
            self.metadata(upstream, now, false).await?,
            callback_url,
        )?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(callback.code.to_string()))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(callback.pkce_verifier.to_string()))
            .request_async(http)
            .await
            .map_err(token_error)?;
        let id_token = tokens.extra_fields().id_token().ok_or_else(|| {
            UpstreamError::InvalidIdToken("the token response has no id_token".into())
        })?;
        let nonce = Nonce::new(callback.nonce.to_string());
        let claims = match verify(&client, id_token, &nonce, now) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                tracing::info!(upstream = %upstream.name, "ID token signed by an unknown key; re-reading the upstream's keys");
                let fresh = self.metadata(upstream, now, true).await?;
                client = self::client(upstream, self.client_secret(upstream)?, fresh, callback_url)?;
                verify(&client, id_token, &nonce, now)
            }
            other => other,
        }
        .map_err(|e| UpstreamError::InvalidIdToken(error_chain(&e)))?;
        check_azp(claims, &upstream.client_id)?;
        let mut identity = identity(claims, &quirks(upstream));
        if identity.email.is_none() {
            userinfo(
                &client,
                http,
                tokens.access_token(),
                &mut identity,
                upstream,
            )
            .await;
        }
        Ok(identity)
    }
}

fn client(
    upstream: &Upstream,
    client_secret: String,
    metadata: CoreProviderMetadata,
    callback: &str,
) -> Result<Client, UpstreamError> {
    // client_secret_basic unless the upstream only supports client_secret_post.
    let auth_type = match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    };
    let redirect = RedirectUrl::new(callback.to_string())
        .map_err(|e| UpstreamError::Unavailable(format!("invalid callback URL: {e}")))?;
    Ok(Client::from_provider_metadata(
        metadata,
        ClientId::new(upstream.client_id.clone()),
        Some(ClientSecret::new(client_secret)),
    )
    .set_redirect_uri(redirect)
    .set_auth_type(auth_type))
}

fn verify<'t>(
    client: &Client,
    id_token: &'t IdToken,
    nonce: &Nonce,
    now: i64,
) -> Result<&'t IdTokenClaims, ClaimsVerificationError> {
    // Asymmetric signatures only: never `none`, and not HMAC with our client secret.
    let algs = [
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EcdsaP521Sha512,
        CoreJwsSigningAlgorithm::EdDsa,
    ];
    debug_assert!(algs.iter().all(|a| !a.uses_shared_secret()));
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(algs)
        .set_time_fn(move || datetime(now))
        .set_issue_time_verifier_fn(move |iat| {
            if iat.timestamp() > now + MAX_IAT_SKEW {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
    id_token.claims(&verifier, nonce)
}

fn datetime(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// OIDC Core §3.1.3.7 steps 4-5, which the library leaves to us: with several audiences `azp`
/// is required, and when present it must be our client_id.
fn check_azp(claims: &IdTokenClaims, client_id: &str) -> Result<(), UpstreamError> {
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => Err(UpstreamError::InvalidIdToken(format!(
            "azp {} is not our client_id",
            azp.as_str()
        ))),
        None if claims.audiences().len() > 1 => Err(UpstreamError::InvalidIdToken(
            "several audiences but no azp".into(),
        )),
        _ => Ok(()),
    }
}

fn identity(claims: &IdTokenClaims, quirks: &Quirks) -> Identity {
    let email_verified = claims.email_verified().unwrap_or(false);
    let email = claims
        .email()
        .map(|e| e.as_str().to_string())
        .filter(|_| email_verified || !quirks.email_needs_verification);
    Identity {
        issuer: claims.issuer().as_str().to_string(),
        subject: claims.subject().as_str().to_string(),
        email,
        email_verified,
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        hosted_domain: claims.additional_claims().hd.clone(),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
    }
}

/// Fills in the profile from the userinfo endpoint when the ID token carries no email (many
/// providers put scope claims only there). Its `sub` must be the ID token's; a failure here
/// only costs the profile, never the login.
async fn userinfo(
    client: &Client,
    http: &reqwest::Client,
    access_token: &openidconnect::AccessToken,
    identity: &mut Identity,
    upstream: &Upstream,
) {
    let subject = openidconnect::SubjectIdentifier::new(identity.subject.clone());
    let Ok(request) = client.user_info(access_token.clone(), Some(subject)) else {
        return;
    };
    let claims = match request
        .request_async::<UpstreamClaims, _, CoreGenderClaim>(http)
        .await
    {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(upstream = %upstream.name, error = %e, "userinfo request failed");
            return;
        }
    };
    let email_verified = claims.email_verified().unwrap_or(false);
    if let Some(email) = claims.email() {
        if email_verified || !quirks(upstream).email_needs_verification {
            identity.email = Some(email.as_str().to_string());
            identity.email_verified = email_verified;
        }
    }
    if identity.preferred_username.is_none() {
        identity.preferred_username = claims.preferred_username().map(|u| u.as_str().to_string());
    }
    if identity.name.is_none() {
        identity.name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
    }
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> UpstreamError {
    match e {
        RequestTokenError::ServerResponse(response) => {
            UpstreamError::Refused(response.error().as_ref().to_string())
        }
        RequestTokenError::Request(inner) => {
            UpstreamError::Unavailable(format!("token request failed: {}", error_chain(&inner)))
        }
        RequestTokenError::Parse(inner, _) => {
            UpstreamError::Unavailable(format!("unreadable token response: {inner}"))
        }
        RequestTokenError::Other(detail) => UpstreamError::Unavailable(detail),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
