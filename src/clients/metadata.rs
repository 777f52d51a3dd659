//! Client metadata as an operator (the CLI) or an app (RFC 7591) asks for it, and the rules
//! that turn it into a [`Client`] the protocol code can trust.
use crate::storage::clients::Client;
use crate::types::{AuthMethod, Scopes, SigningAlg};

use super::{redirect_uri, ClientError};

/// Grant types a client may register.
pub const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    TOKEN_EXCHANGE,
];

/// RFC 8693 token exchange (of API keys, see `oauth::grants::token_exchange`).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Scopes of a client that registers none (and is not a machine client).
pub const DEFAULT_SCOPES: &str = "openid profile email offline_access";

/// What is asked for; [`validate`] decides what is registered.
#[derive(Clone, Debug)]
pub struct ClientMetadata {
    /// Human-readable name, shown on the consent page.
    pub name: String,
    /// Exact redirect URIs (see [`redirect_uri::check`]).
    pub redirect_uris: Vec<String>,
    /// A public client: no secret, PKCE required.
    pub public: bool,
    /// Empty: `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// Empty: [`DEFAULT_SCOPES`] (a `client_credentials`-only client must name its scopes).
    pub scopes: Vec<String>,
    pub id_token_alg: SigningAlg,
    /// None: `client_secret_basic`, or `none` for a public client.
    pub auth_method: Option<AuthMethod>,
    /// The client's public keys (a JWK set as JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where the client publishes them instead (https), for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// None: a random one.
    pub client_id: Option<String>,
    /// The app's home page (https), linked on the consent page.
    pub client_uri: Option<String>,
    /// The app's logo (https).
    pub logo_uri: Option<String>,
    /// The app's privacy policy (https), linked on the consent page.
    pub policy_uri: Option<String>,
    /// The app's terms of service (https).
    pub tos_uri: Option<String>,
    /// Where RP-initiated logout may send the browser back to (exact, like redirect URIs).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are posted (https, or http on a loopback host).
    pub backchannel_logout_uri: Option<String>,
    /// Whether logout tokens must carry `sid`.
    pub backchannel_logout_session_required: bool,
    /// Origins allowed to call the token endpoint from a browser (empty: the origins of
    /// the redirect URIs).
    pub allowed_cors_origins: Vec<String>,
}

impl Default for ClientMetadata {
    fn default() -> Self {
        ClientMetadata {
            name: String::new(),
            redirect_uris: vec![],
            public: false,
            grant_types: vec![],
            scopes: vec![],
            id_token_alg: SigningAlg::Rs256,
            auth_method: None,
            jwks: None,
            jwks_uri: None,
            client_id: None,
            client_uri: None,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            allowed_cors_origins: vec![],
        }
    }
}

impl ClientMetadata {
    /// What `client` was registered with, to change some of it (`tessera client update`).
    pub fn from_client(client: &Client) -> ClientMetadata {
        ClientMetadata {
            name: client.name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            public: client.public,
            grant_types: client.grant_types.clone(),
            scopes: client.scopes.iter().map(str::to_string).collect(),
            id_token_alg: client.id_token_alg,
            auth_method: Some(client.auth_method),
            jwks: client.jwks.clone(),
            jwks_uri: client.jwks_uri.clone(),
            client_id: Some(client.client_id.clone()),
            client_uri: client.client_uri.clone(),
            logo_uri: client.logo_uri.clone(),
            policy_uri: client.policy_uri.clone(),
            tos_uri: client.tos_uri.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: client.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: client.backchannel_logout_session_required,
            allowed_cors_origins: client.allowed_cors_origins.clone(),
        }
    }
}

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::InvalidMetadata(message.into())
}

/// Applies the defaults and checks every rule; the result has no secret yet.
pub fn validate(metadata: ClientMetadata) -> Result<Client, ClientError> {
    let ClientMetadata {
        name,
        redirect_uris,
        public,
        grant_types,
        scopes,
        id_token_alg,
        auth_method,
        jwks,
        jwks_uri,
        client_id,
        client_uri,
        logo_uri,
        policy_uri,
        tos_uri,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        backchannel_logout_session_required,
        allowed_cors_origins,
    } = metadata;
    let name = name.trim().to_string();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid(
            "the client name must be at most 200 characters without control characters",
        ));
    }
    for (field, value) in [
        ("client_uri", &client_uri),
        ("logo_uri", &logo_uri),
        ("policy_uri", &policy_uri),
        ("tos_uri", &tos_uri),
    ] {
        if let Some(value) = value {
            check_https_url(field, value)?;
        }
    }
    if post_logout_redirect_uris.len() > 32 {
        return Err(invalid("at most 32 post_logout_redirect_uris"));
    }
    for uri in &post_logout_redirect_uris {
        redirect_uri::check(uri).map_err(|e| invalid(format!("post_logout_redirect_uris: {e}")))?;
    }
    if let Some(uri) = &backchannel_logout_uri {
        redirect_uri::check_web(uri)
            .map_err(|e| invalid(format!("backchannel_logout_uri: {e}")))?;
    }
    if allowed_cors_origins.len() > 32 {
        return Err(invalid("at most 32 allowed_cors_origins"));
    }
    for origin in &allowed_cors_origins {
        check_origin(origin)?;
    }
    let mut grant_types = if grant_types.is_empty() {
        vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ]
    } else {
        grant_types
    };
    grant_types.dedup();
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(invalid(format!(
            "unsupported grant type {g} (use authorization_code, refresh_token, client_credentials or {TOKEN_EXCHANGE})"
        )));
    }
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    let auth_method = auth_method.unwrap_or(if public {
        AuthMethod::None
    } else {
        AuthMethod::ClientSecretBasic
    });
    if public != (auth_method == AuthMethod::None) {
        return Err(invalid(
            "a public client uses the auth method none, and only a public client may",
        ));
    }
    if public && has("client_credentials") {
        return Err(invalid("a public client cannot use client_credentials"));
    }
    if public && has(TOKEN_EXCHANGE) {
        return Err(invalid(
            "a public client cannot use token exchange: it must authenticate",
        ));
    }
    if has("refresh_token") && !has("authorization_code") {
        return Err(invalid(
            "refresh_token is only issued with authorization_code: add that grant type",
        ));
    }
    if has("authorization_code") && redirect_uris.is_empty() {
        return Err(ClientError::InvalidRedirectUri(
            "the authorization_code grant needs at least one redirect URI".into(),
        ));
    }
    if !has("authorization_code") && !redirect_uris.is_empty() {
        return Err(ClientError::InvalidRedirectUri(
            "redirect URIs are only for the authorization_code grant".into(),
        ));
    }
    if redirect_uris.len() > 32 {
        return Err(ClientError::InvalidRedirectUri(
            "at most 32 redirect URIs".into(),
        ));
    }
    for uri in &redirect_uris {
        redirect_uri::check(uri).map_err(ClientError::InvalidRedirectUri)?;
    }
    let scopes = if scopes.is_empty() {
        if !has("authorization_code") && has("client_credentials") {
            return Err(invalid(
                "a client_credentials client needs at least one scope",
            ));
        }
        DEFAULT_SCOPES.to_string()
    } else {
        scopes.join(" ")
    };
    let scopes = Scopes::parse(&scopes).map_err(|e| invalid(format!("invalid scope: {e}")))?;
    // RFC 7591 §2: a client registers its keys by value or by reference, never both.
    let (jwks, jwks_uri) = match (auth_method, jwks, jwks_uri) {
        (AuthMethod::PrivateKeyJwt, Some(_), Some(_)) => {
            return Err(invalid("send either jwks or jwks_uri, not both"))
        }
        (AuthMethod::PrivateKeyJwt, Some(jwks), None) => {
            crate::jose::client_keys::parse_client_jwks(&jwks).map_err(invalid)?;
            (Some(jwks), None)
        }
        (AuthMethod::PrivateKeyJwt, None, Some(uri)) => {
            check_jwks_uri(&uri)?;
            (None, Some(uri))
        }
        (AuthMethod::PrivateKeyJwt, None, None) => {
            return Err(invalid(
                "private_key_jwt needs the client's public keys (jwks or jwks_uri)",
            ))
        }
        (_, Some(_), _) | (_, _, Some(_)) => {
            return Err(invalid("jwks and jwks_uri are only for private_key_jwt"))
        }
        (_, None, None) => (None, None),
    };
    let client_id = client_id.unwrap_or_else(crate::secrets::random_id);
    if client_id.is_empty()
        || client_id.len() > 128
        || client_id.starts_with('-')
        || client_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "the client_id must be 1-128 characters without spaces, not starting with -",
        ));
    }
    let name = if name.is_empty() {
        client_id.clone()
    } else {
        name
    };
    Ok(Client {
        client_id,
        secret_hash: None,
        name,
        redirect_uris,
        grant_types,
        auth_method,
        scopes,
        id_token_alg,
        public,
        jwks,
        jwks_uri,
        client_uri,
        logo_uri,
        policy_uri,
        tos_uri,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        backchannel_logout_session_required,
        allowed_cors_origins,
        registration_token_hash: None,
        created_at: 0,
        organization_id: None,
    })
}

/// A link shown to users (home page, logo, policy, terms): an absolute https URL.
fn check_https_url(field: &str, value: &str) -> Result<(), ClientError> {
    let ok = value.len() <= 2000
        && url::Url::parse(value)
            .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("{field} must be an https URL")))
    }
}

/// Where Tessera fetches the client's keys: https, or http on a loopback host (tests and
/// development), without a fragment. Whether the address may be reached is decided when
/// it is fetched (`outbound`), on the address actually connected to.
fn check_jwks_uri(uri: &str) -> Result<(), ClientError> {
    redirect_uri::check_web(uri).map_err(|e| invalid(format!("jwks_uri: {e}")))
}

/// A web origin (`scheme://host[:port]`, no path), https or http on a loopback host.
fn check_origin(origin: &str) -> Result<(), ClientError> {
    let refuse = || {
        invalid(format!(
            "allowed_cors_origins: {origin} is not an origin such as https://app.example.com"
        ))
    };
    let url = url::Url::parse(origin).map_err(|_| refuse())?;
    redirect_uri::check_web(origin).map_err(|_| refuse())?;
    if url.origin().ascii_serialization() != origin.trim_end_matches('/') || url.path() != "/" {
        return Err(refuse());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn web() -> ClientMetadata {
        ClientMetadata {
            name: "Web".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            ..ClientMetadata::default()
        }
    }

    #[test]
    fn defaults_make_a_confidential_code_client() {
        let client = validate(web()).unwrap();
        assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(
            client.scopes.to_string(),
            "email offline_access openid profile"
        );
        assert!(!client.client_id.starts_with('-'));
    }

    #[test]
    fn each_rule_has_its_error() {
        let redirect =
            |m: ClientMetadata| matches!(validate(m), Err(ClientError::InvalidRedirectUri(_)));
        let metadata =
            |m: ClientMetadata| matches!(validate(m), Err(ClientError::InvalidMetadata(_)));
        assert!(redirect(ClientMetadata {
            redirect_uris: vec![],
            ..web()
        }));
        assert!(redirect(ClientMetadata {
            redirect_uris: vec!["http://app.example.com/cb".into()],
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            name: "a\u{7}".into(),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            client_uri: Some("http://app.example.com".into()),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            policy_uri: Some("javascript:alert(1)".into()),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            post_logout_redirect_uris: vec!["https://a.example/#x".into()],
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            backchannel_logout_uri: Some("http://a.example/bc".into()),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            allowed_cors_origins: vec!["https://a.example/path".into()],
            ..web()
        }));
        let unnamed = validate(ClientMetadata {
            name: " ".into(),
            ..web()
        })
        .unwrap();
        assert_eq!(
            unnamed.name, unnamed.client_id,
            "RFC 7591: client_name is optional"
        );
        assert!(validate(ClientMetadata {
            allowed_cors_origins: vec!["https://a.example".into(), "http://localhost:3000".into()],
            backchannel_logout_uri: Some("http://127.0.0.1:9/bc".into()),
            client_uri: Some("https://a.example".into()),
            ..web()
        })
        .is_ok());
        assert!(metadata(ClientMetadata {
            grant_types: vec!["implicit".into()],
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            public: true,
            auth_method: Some(AuthMethod::ClientSecretBasic),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            auth_method: Some(AuthMethod::None),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            grant_types: vec!["refresh_token".into()],
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            scopes: vec!["a\"b".into()],
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            auth_method: Some(AuthMethod::PrivateKeyJwt),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            jwks: Some("{}".into()),
            ..web()
        }));
        assert!(metadata(ClientMetadata {
            client_id: Some("-x".into()),
            ..web()
        }));
        let machine = ClientMetadata {
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            ..web()
        };
        assert!(
            metadata(machine.clone()),
            "a machine client names its scopes"
        );
        assert!(metadata(ClientMetadata {
            public: true,
            scopes: vec!["api".into()],
            ..machine.clone()
        }));
        assert!(redirect(ClientMetadata {
            redirect_uris: vec!["https://app.example.com/cb".into()],
            scopes: vec!["api".into()],
            ..machine.clone()
        }));
        assert!(validate(ClientMetadata {
            scopes: vec!["api".into()],
            ..machine
        })
        .is_ok());
    }
}
