//! Client metadata as an operator (the CLI) or an app (RFC 7591) asks for it, and the rules
//! that turn it into a [`Client`] the protocol code can trust.
use crate::storage::clients::Client;
use crate::types::{AuthMethod, Scopes, SigningAlg};

use super::{redirect_uri, ClientError};

/// Grant types a client may register.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

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
    /// None: a random one.
    pub client_id: Option<String>,
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
            client_id: None,
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
        client_id,
    } = metadata;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid(
            "the client name must be 1-200 characters without control characters",
        ));
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
            "unsupported grant type {g} (use authorization_code, refresh_token or client_credentials)"
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
        if !has("authorization_code") {
            return Err(invalid(
                "a client_credentials client needs at least one scope",
            ));
        }
        DEFAULT_SCOPES.to_string()
    } else {
        scopes.join(" ")
    };
    let scopes = Scopes::parse(&scopes).map_err(|e| invalid(format!("invalid scope: {e}")))?;
    let jwks = match (auth_method, jwks) {
        (AuthMethod::PrivateKeyJwt, Some(jwks)) => {
            crate::jose::client_keys::parse_client_jwks(&jwks).map_err(invalid)?;
            Some(jwks)
        }
        (AuthMethod::PrivateKeyJwt, None) => {
            return Err(invalid(
                "private_key_jwt needs the client's public keys (jwks)",
            ))
        }
        (_, Some(_)) => return Err(invalid("jwks is only for private_key_jwt")),
        (_, None) => None,
    };
    let client_id = client_id.unwrap_or_else(generated_client_id);
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
    })
}

/// A random client_id that never starts with '-' (it must read as a value on any command line).
fn generated_client_id() -> String {
    loop {
        let id = crate::secrets::random_token(16);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return id;
        }
    }
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
            name: " ".into(),
            ..web()
        }));
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
