//! The account page's API keys: a signed-in user creates keys for their own scripts (shown
//! once), sees them (never the key, only its prefix) and revokes them. The keys are
//! `apikeys`' own: the same format, keyed hash, checks on every use and audit events as
//! `tessera apikey`.
use crate::apikeys::{NewApiKey, Owner};
use crate::oauth::params::Params;
use crate::types::Scopes;

/// The lifetimes the page offers, in days (the form's `expires_in_days`).
pub const LIFETIME_DAYS: [i64; 4] = [7, 30, 90, 365];

/// Why a new key's form is refused: a catalog key.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Name,
    Scope,
    Lifetime,
}

impl Refusal {
    pub fn key(&self) -> &'static str {
        match self {
            Refusal::Name => "account-api-key-bad-name",
            Refusal::Scope => "account-api-key-bad-scope",
            Refusal::Lifetime => "account-api-key-bad-lifetime",
        }
    }
}

/// The key `user_id` asks for with the page's form: a name, space-separated scopes (may be
/// empty), and one of [`LIFETIME_DAYS`]. The rest of the rules (name length, scopes a key
/// may not hold) are `apikeys::create`'s.
pub fn parse(user_id: &str, form: &Params) -> Result<NewApiKey, Refusal> {
    let name = form.get("name").unwrap_or_default().trim();
    if name.is_empty() {
        return Err(Refusal::Name);
    }
    let scope = match form.get("scope").map(str::trim).unwrap_or_default() {
        "" => None,
        typed => Some(Scopes::parse(typed).map_err(|_| Refusal::Scope)?),
    };
    let days: i64 = form
        .get("expires_in_days")
        .and_then(|d| d.parse().ok())
        .filter(|d| LIFETIME_DAYS.contains(d))
        .ok_or(Refusal::Lifetime)?;
    Ok(NewApiKey {
        owner: Owner::User(user_id.to_string()),
        name: name.to_string(),
        scope,
        lifetime: Some(days * 86_400),
        organization_id: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Params {
        let encoded = serde_urlencoded::to_string(fields).unwrap();
        Params::parse(encoded.as_bytes()).unwrap()
    }

    #[test]
    fn a_key_needs_a_name_and_an_offered_lifetime() {
        let ok = parse(
            "u1",
            &form(&[
                ("name", " CI "),
                ("scope", "api:read"),
                ("expires_in_days", "30"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.name, "CI");
        assert_eq!(ok.lifetime, Some(30 * 86_400));
        assert_eq!(ok.scope.unwrap().to_string(), "api:read");
        assert_eq!(
            parse("u1", &form(&[("name", " "), ("expires_in_days", "30")])).unwrap_err(),
            Refusal::Name
        );
        assert_eq!(
            parse("u1", &form(&[("name", "CI"), ("expires_in_days", "3650")])).unwrap_err(),
            Refusal::Lifetime
        );
        assert_eq!(
            parse(
                "u1",
                &form(&[("name", "CI"), ("scope", "a\"b"), ("expires_in_days", "7")])
            )
            .unwrap_err(),
            Refusal::Scope
        );
        assert!(
            parse("u1", &form(&[("name", "CI"), ("expires_in_days", "7")]))
                .unwrap()
                .scope
                .is_none()
        );
    }
}
