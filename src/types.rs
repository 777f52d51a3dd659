//! Value types shared by every layer: the protocol, the CLI, storage. A leaf: it imports no
//! clap, axum, storage or protocol module, so storage can use these without knowing OAuth.
use std::collections::BTreeSet;

/// Signing algorithms Tessera issues and accepts. `none` is deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SigningAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Es256, SigningAlg::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
        }
    }

    /// Exact, case-sensitive names as JOSE spells them (RFC 7518 §3.1).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == value)
    }
}

impl std::str::FromStr for SigningAlg {
    type Err = String;

    /// For flags and settings: accepts any case (`es256`), names the choices otherwise.
    fn from_str(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| format!("{value:?} is not a signing algorithm (use RS256 or ES256)"))
    }
}

/// How a client authenticates at the token, introspection and revocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<AuthMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// Whether the client proves itself with a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        Self::parse(value).ok_or_else(|| {
            format!("{value:?} is not an authentication method (use client_secret_basic, client_secret_post, private_key_jwt or none)")
        })
    }
}

/// A scope value outside RFC 6749 §3.3's character set, or too long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed scope value")]
pub struct MalformedScope;

/// A set of scope tokens (RFC 6749 §3.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(pub BTreeSet<String>);

impl Scopes {
    /// RFC 6749 §3.3: space-separated `%x21 / %x23-5B / %x5D-7E` tokens.
    pub fn parse(value: &str) -> Result<Scopes, MalformedScope> {
        let mut set = BTreeSet::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid || token.len() > 256 {
                return Err(MalformedScope);
            }
            set.insert(token.to_string());
        }
        Ok(Scopes(set))
    }

    /// From a stored, space-separated value (already validated when written).
    pub fn from_stored(value: &str) -> Scopes {
        Scopes(
            value
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

/// Whether a URL's host is this machine: `localhost` or a loopback IP address (RFC 8252
/// §7.3, and the one exception to "https only" for issuers and redirect URIs).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// https, or http on a loopback host.
pub fn is_https_or_loopback(url: &url::Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(url))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_exactly_for_jose_and_loosely_for_flags() {
        assert_eq!(SigningAlg::parse("ES256"), Some(SigningAlg::Es256));
        assert_eq!(SigningAlg::parse("es256"), None);
        assert_eq!("es256".parse::<SigningAlg>(), Ok(SigningAlg::Es256));
        assert!("none".parse::<SigningAlg>().is_err());
        assert_eq!(AuthMethod::parse("none"), Some(AuthMethod::None));
        assert!("basic".parse::<AuthMethod>().is_err());
    }

    #[test]
    fn loopback_is_localhost_or_a_loopback_address() {
        for (url, loopback) in [
            ("http://localhost:8080/", true),
            ("http://LOCALHOST/", true),
            ("http://127.0.0.1/", true),
            ("http://127.9.9.9/", true),
            ("http://[::1]:3000/", true),
            ("http://localhost.example.com/", false),
            ("http://10.0.0.1/", false),
            ("http://[::2]/", false),
        ] {
            let url = url::Url::parse(url).unwrap();
            assert_eq!(is_loopback_host(&url), loopback, "{url}");
        }
    }

    #[test]
    fn scopes_refuse_characters_outside_rfc_6749() {
        assert!(Scopes::parse("openid \"x\"").is_err());
        assert!(Scopes::parse("a\\b").is_err());
        assert_eq!(Scopes::parse("b a  a").unwrap().to_string(), "a b");
    }
}
