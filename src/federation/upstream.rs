//! Upstream providers as data: what `tessera upstream add` accepts, the presets, and the
//! quirks a stored row implies. No HTTP here.
use sea_orm::ConnectionTrait;

use crate::sealing::MasterKey;
use crate::storage::upstreams::{self, Upstream};

/// The issuer the `google` preset uses unless overridden.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// Scopes requested when none are given.
pub const DEFAULT_SCOPES: &str = "openid email profile";

/// A named bundle of defaults and quirks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// Sign in with Google: issuer `https://accounts.google.com`, `email_verified` required to
    /// use the email, `hd` checked against `--hosted-domain`, `prompt=select_account`.
    Google,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Google => "google",
        }
    }

    pub fn parse(value: &str) -> Option<Preset> {
        match value {
            "google" => Some(Preset::Google),
            _ => None,
        }
    }
}

/// What an operator asks to register.
#[derive(Clone, Debug)]
pub struct UpstreamSpec {
    pub name: String,
    pub preset: Option<Preset>,
    /// Required without a preset; overrides the preset's issuer otherwise.
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// Empty means the default (`openid email profile`); `openid` is always added.
    pub scopes: Vec<String>,
    /// Only accounts of this Google Workspace domain (preset `google` only).
    pub hosted_domain: Option<String>,
}

/// A valid upstream name: a slug of `[a-z0-9-]`, 1 to 64 characters, that can sit in a URL
/// path unescaped.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid upstream name {name:?}: use 1-64 characters among a-z, 0-9 and -"
        ))
    }
}

/// An issuer URL as OpenID Connect Discovery requires: https (http only on a loopback host),
/// no query or fragment.
pub fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = url::Url::parse(issuer).map_err(|e| format!("invalid issuer URL {issuer}: {e}"))?;
    if !crate::types::is_https_or_loopback(&url) {
        return Err(format!(
            "the issuer must be an https URL (http only on a loopback host): got {issuer}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the issuer must not have a query or fragment".into());
    }
    Ok(())
}

/// Validates a spec and fills in the preset; the row `register` would store.
pub fn build(spec: UpstreamSpec, now: i64) -> Result<Upstream, String> {
    check_name(&spec.name)?;
    let issuer = match (spec.preset, spec.issuer) {
        (_, Some(issuer)) => issuer,
        (Some(Preset::Google), None) => GOOGLE_ISSUER.to_string(),
        (None, None) => return Err("--issuer is required without --preset".into()),
    };
    check_issuer(&issuer)?;
    if spec.client_id.is_empty() || spec.client_id.chars().any(char::is_control) {
        return Err("the client ID must not be empty".into());
    }
    if spec.client_secret.is_empty() {
        return Err("the client secret must not be empty".into());
    }
    let hosted_domain = match (spec.preset, spec.hosted_domain) {
        (_, None) => None,
        (Some(Preset::Google), Some(domain)) => {
            let domain = domain.trim().to_ascii_lowercase();
            if domain.is_empty()
                || !domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(format!("invalid hosted domain {domain:?}"));
            }
            Some(domain)
        }
        (None, Some(_)) => return Err("--hosted-domain needs --preset google".into()),
    };
    let mut scopes = vec!["openid".to_string()];
    let requested = if spec.scopes.is_empty() {
        DEFAULT_SCOPES
            .split(' ')
            .map(str::to_string)
            .collect::<Vec<_>>()
    } else {
        spec.scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .map(str::to_string)
            .collect()
    };
    for scope in requested {
        if scope.is_empty() {
            continue;
        }
        if !scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(format!("invalid scope {scope:?}"));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(Upstream {
        name: spec.name,
        preset: spec.preset.map(|p| p.as_str().to_string()),
        issuer,
        client_id: spec.client_id,
        client_secret: spec.client_secret,
        scopes: scopes.join(" "),
        hosted_domain,
        created_at: now,
    })
}

/// Validates and stores an upstream provider; fails if the name is taken.
pub async fn register(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    spec: UpstreamSpec,
    now: i64,
) -> anyhow::Result<Upstream> {
    let upstream = build(spec, now).map_err(anyhow::Error::msg)?;
    insert_new(db, master, upstream).await
}

/// Stores a row made by `build`, its client secret sealed under `master` (the returned row
/// holds it sealed too); fails if the name is taken.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    mut upstream: Upstream,
) -> anyhow::Result<Upstream> {
    if upstreams::find(db, &upstream.name).await?.is_some() {
        anyhow::bail!("an upstream named {} already exists", upstream.name);
    }
    upstream.client_secret = master.seal(
        &crate::jose::master_key::upstream_label(&upstream.name),
        upstream.client_secret.as_bytes(),
    )?;
    upstreams::insert(db, upstream.clone()).await?;
    Ok(upstream)
}

/// The provider-specific rules a stored row implies.
#[derive(Clone, Debug, Default)]
pub struct Quirks {
    /// Send `prompt=select_account` (Google's account chooser).
    pub select_account: bool,
    /// Ignore the email unless `email_verified` is true (Google).
    pub email_needs_verification: bool,
    /// Send `hd` and require this `hd` claim (Google Workspace domain).
    pub hosted_domain: Option<String>,
}

pub fn quirks(upstream: &Upstream) -> Quirks {
    match upstream.preset.as_deref().and_then(Preset::parse) {
        Some(Preset::Google) => Quirks {
            select_account: true,
            email_needs_verification: true,
            hosted_domain: upstream.hosted_domain.clone(),
        },
        None => Quirks::default(),
    }
}

/// The name shown on the login button.
pub fn label(upstream: &Upstream) -> String {
    match upstream.preset.as_deref().and_then(Preset::parse) {
        Some(Preset::Google) => "Google".into(),
        None => upstream.name.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec() -> UpstreamSpec {
        UpstreamSpec {
            name: "google".into(),
            preset: Some(Preset::Google),
            issuer: None,
            client_id: "id".into(),
            client_secret: "secret".into(),
            scopes: vec![],
            hosted_domain: Some("Example.com".into()),
        }
    }

    #[test]
    fn names_are_slugs() {
        assert!(check_name("google").is_ok());
        assert!(check_name("corp-sso-2").is_ok());
        assert!(check_name(&"a".repeat(64)).is_ok());
        for bad in ["", "Google", "a b", "a/b", "a_b", "é", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn google_preset_fills_issuer_scopes_and_domain() {
        let row = build(spec(), 1).unwrap();
        assert_eq!(row.issuer, GOOGLE_ISSUER);
        assert_eq!(row.scopes, "openid email profile");
        assert_eq!(row.hosted_domain.as_deref(), Some("example.com"));
        assert_eq!(row.preset.as_deref(), Some("google"));
        let q = quirks(&row);
        assert!(q.select_account && q.email_needs_verification);
    }

    #[test]
    fn generic_needs_an_issuer_and_no_hosted_domain() {
        let mut s = spec();
        s.preset = None;
        s.hosted_domain = None;
        assert!(build(s.clone(), 1).is_err());
        s.issuer = Some("http://idp.example.com".into());
        assert!(build(s.clone(), 1).is_err(), "plain http off loopback");
        s.issuer = Some("https://idp.example.com/realms/x".into());
        s.scopes = vec!["profile".into(), "groups".into()];
        let row = build(s.clone(), 1).unwrap();
        assert_eq!(row.scopes, "openid profile groups");
        s.hosted_domain = Some("example.com".into());
        assert!(build(s, 1).is_err());
    }
}
