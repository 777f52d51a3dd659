//! Protected resources (RFC 8707 resource indicators) as data: registered with `tessera
//! resource add` (stored in `resources`, cached by `storage::resource_cache`) or listed in
//! `TESSERA_RESOURCES` (a bootstrap: those behave as registered resources without scopes or
//! introspecting clients; a registered resource of the same URI wins).
//!
//! The rules:
//! - a token requested with `resource` carries that URI in `aud` (`grants::target`);
//! - the clients registered as a resource's introspecting clients may introspect tokens whose
//!   `aud` names it ([`may_introspect`]);
//! - scopes that belong to a resource are granted only in tokens meant for it; requested
//!   scopes that belong to another resource are dropped from the token ([`scopes_for`]), and
//!   the token response's `scope` says what was granted (RFC 6749 §5.1).
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::resources::ResourceRow;
use crate::types::Scopes;

/// Scopes of OpenID Connect itself, which no resource may own.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A resource as the protocol code sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub uri: String,
    pub name: Option<String>,
    pub scopes: Scopes,
    pub introspecting_clients: Vec<String>,
}

impl Resource {
    fn from_row(row: &ResourceRow) -> Resource {
        Resource {
            uri: row.uri.clone(),
            name: row.name.clone(),
            scopes: Scopes::from_stored(&row.scopes),
            introspecting_clients: split(&row.introspecting_clients),
        }
    }

    fn bootstrap(uri: &str) -> Resource {
        Resource {
            uri: uri.to_string(),
            name: None,
            scopes: Scopes::default(),
            introspecting_clients: Vec::new(),
        }
    }

    /// The row stored for this resource.
    pub fn to_row(&self) -> ResourceRow {
        ResourceRow {
            uri: self.uri.clone(),
            name: self.name.clone(),
            scopes: self.scopes.to_string(),
            introspecting_clients: self.introspecting_clients.join(" "),
            created_at: 0,
            updated_at: 0,
        }
    }
}

fn split(value: &str) -> Vec<String> {
    value
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every resource this instance knows: the registered ones and the bootstrap list.
pub async fn all(state: &AppState) -> Result<Vec<Resource>, AppError> {
    let rows = state.resources.all(&state.db).await?;
    let mut all: Vec<Resource> = rows.iter().map(Resource::from_row).collect();
    for uri in &state.settings.resources {
        if !all.iter().any(|r| &r.uri == uri) {
            all.push(Resource::bootstrap(uri));
        }
    }
    Ok(all)
}

/// The resource `uri`, if registered or bootstrapped.
pub async fn find(state: &AppState, uri: &str) -> Result<Option<Resource>, AppError> {
    Ok(all(state).await?.into_iter().find(|r| r.uri == uri))
}

/// The scopes of `scope` a token meant for `target` (None: no resource, the default audience)
/// may carry: those that belong to no resource, and those of `target`. Pure.
pub fn scopes_for(resources: &[Resource], target: Option<&str>, scope: &Scopes) -> Scopes {
    Scopes(
        scope
            .iter()
            .filter(|s| {
                let owners: Vec<&Resource> =
                    resources.iter().filter(|r| r.scopes.contains(s)).collect();
                owners.is_empty() || owners.iter().any(|r| Some(r.uri.as_str()) == target)
            })
            .map(str::to_string)
            .collect(),
    )
}

/// Whether `client_id` is an introspecting client of a resource named in `audiences`. Pure.
pub fn may_introspect(resources: &[Resource], client_id: &str, audiences: &[&str]) -> bool {
    resources.iter().any(|r| {
        audiences.contains(&r.uri.as_str())
            && r.introspecting_clients.iter().any(|c| c == client_id)
    })
}

/// Checks a resource as an operator asks for it: an absolute URI without a fragment (RFC
/// 8707 §2), at most 32 scopes none of which is an OpenID Connect scope, at most 32
/// introspecting clients. Whether those clients exist is checked by the caller.
pub fn validate(resource: &Resource) -> Result<(), String> {
    let url = url::Url::parse(&resource.uri)
        .map_err(|_| format!("{} is not an absolute URI", resource.uri))?;
    if url.fragment().is_some() {
        return Err("a resource indicator has no fragment (RFC 8707 §2)".into());
    }
    if resource.uri.len() > 512 || resource.uri.chars().any(|c| c.is_whitespace()) {
        return Err("a resource URI is at most 512 characters without spaces".into());
    }
    if let Some(name) = &resource.name {
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(
                "the name must be at most 200 characters without control characters".into(),
            );
        }
    }
    if let Some(s) = OIDC_SCOPES.iter().find(|s| resource.scopes.contains(s)) {
        return Err(format!(
            "{s} is an OpenID Connect scope and cannot belong to a resource"
        ));
    }
    if resource.scopes.0.len() > 32 || resource.introspecting_clients.len() > 32 {
        return Err("at most 32 scopes and 32 introspecting clients".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn resource(uri: &str, scopes: &str, clients: &[&str]) -> Resource {
        Resource {
            uri: uri.into(),
            name: None,
            scopes: Scopes::parse(scopes).unwrap(),
            introspecting_clients: clients.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_of_another_resource_are_dropped() {
        let all = [
            resource("https://a.example", "a:read a:write", &[]),
            resource("https://b.example", "b:read", &[]),
        ];
        let asked = Scopes::parse("profile a:read b:read").unwrap();
        let of = |t| scopes_for(&all, t, &asked).to_string();
        assert_eq!(of(Some("https://a.example")), "a:read profile");
        assert_eq!(of(Some("https://b.example")), "b:read profile");
        assert_eq!(of(None), "profile");
    }

    #[test]
    fn only_listed_clients_of_a_named_resource_may_introspect() {
        let all = [resource("https://a.example", "", &["gateway"])];
        assert!(may_introspect(&all, "gateway", &["https://a.example"]));
        assert!(!may_introspect(&all, "other", &["https://a.example"]));
        assert!(!may_introspect(&all, "gateway", &["https://b.example"]));
    }

    #[test]
    fn indicators_are_absolute_without_fragment_and_own_no_oidc_scope() {
        assert!(validate(&resource("https://api.example.com", "api:read", &[])).is_ok());
        assert!(validate(&resource("urn:example:api", "", &[])).is_ok());
        assert!(validate(&resource("/api", "", &[])).is_err());
        assert!(validate(&resource("https://api.example.com#x", "", &[])).is_err());
        assert!(validate(&resource("https://api.example.com", "openid", &[])).is_err());
    }
}
