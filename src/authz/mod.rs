//! Authorization data in tokens: the roles and groups of the subject and the organization a
//! token speaks for. One shape for every token and endpoint (access and ID tokens, userinfo,
//! introspection), written by [`TokenAuthz::write`]:
//!
//! - `roles` (the name is `TESSERA_ROLES_CLAIM`), with the `roles` scope: a JSON array of
//!   role names, sorted, possibly empty;
//! - `groups`, with the `groups` scope: a JSON array of group names, sorted, possibly empty;
//! - `org_id` and `org_name`, whenever the token speaks for an organization.
//!
//! Everything is read from the database when a token is issued or refreshed (no cache), so
//! a grant or revocation shows in the next token of any instance. A token that speaks for an
//! organization carries only the roles granted within that organization (global roles and
//! other organizations' roles are left out): an organization's `admin` is nobody's `admin`
//! anywhere else.
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::{Map, Value};

use crate::storage::organizations::{self, Organization};
use crate::storage::roles::{self, Subject, Within};
use crate::types::Scopes;

pub const ROLES_SCOPE: &str = "roles";
pub const GROUPS_SCOPE: &str = "groups";
/// Asks for a token that speaks for one organization (chosen on a page if the user has
/// several and the request names none).
pub const ORGANIZATION_SCOPE: &str = "organization";
pub const GROUPS_CLAIM: &str = "groups";
pub const ORG_ID_CLAIM: &str = "org_id";
pub const ORG_NAME_CLAIM: &str = "org_name";

/// The authorization claims of one token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenAuthz {
    /// Some when the `roles` scope was granted.
    pub roles: Option<Vec<String>>,
    /// Some when the `groups` scope was granted.
    pub groups: Option<Vec<String>>,
    pub organization: Option<Organization>,
}

impl TokenAuthz {
    /// Adds the claims to a token's (or a response's) claims: those of
    /// [`TokenAuthz::serialize_claims`], the one list of them.
    pub fn write(&self, roles_claim: &str, claims: &mut Map<String, Value>) {
        use serde::ser::{SerializeMap, Serializer};
        // Strings and lists of strings into a JSON value: serializing them cannot fail.
        let Ok(mut written) = serde_json::value::Serializer.serialize_map(None) else {
            return;
        };
        if self.serialize_claims(roles_claim, &mut written).is_err() {
            return;
        }
        if let Ok(Value::Object(written)) = written.end() {
            claims.extend(written);
        }
    }

    /// The claims, into a claims object being serialized (an access token's,
    /// `oauth::token_minting`, and through [`TokenAuthz::write`] every other).
    pub fn serialize_claims<M: serde::ser::SerializeMap>(
        &self,
        roles_claim: &str,
        claims: &mut M,
    ) -> Result<(), M::Error> {
        if let Some(roles) = &self.roles {
            claims.serialize_entry(roles_claim, roles)?;
        }
        if let Some(groups) = &self.groups {
            claims.serialize_entry(GROUPS_CLAIM, groups)?;
        }
        if let Some(org) = &self.organization {
            claims.serialize_entry(ORG_ID_CLAIM, &org.id)?;
            claims.serialize_entry(ORG_NAME_CLAIM, &org.name)?;
        }
        Ok(())
    }
}

/// Why a token may not speak for an organization (for the log; the client sees
/// `invalid_grant` or an inactive token).
pub type Refusal = &'static str;

/// Whether a token of a client restricted to `restricted_to` (the cached
/// `Client::organization_id`), for `user_id` if a user's, may speak for `organization_id`
/// now: the organization exists, the user is a member of it, and the client is not
/// restricted to another one (a restricted client's tokens always speak for its
/// organization). Gives the organization for the claims. No database read when no
/// organization is involved.
pub async fn organization_holds(
    db: &impl ConnectionTrait,
    restricted_to: Option<&str>,
    user_id: Option<&str>,
    organization_id: Option<&str>,
) -> Result<Result<Option<Organization>, Refusal>, DbErr> {
    if restricted_to.is_some() && restricted_to != organization_id {
        return Ok(Err("the client is restricted to another organization"));
    }
    let Some(organization_id) = organization_id else {
        return Ok(Ok(None));
    };
    let Some(organization) = organizations::find(db, organization_id).await? else {
        return Ok(Err("the organization no longer exists"));
    };
    if let Some(user_id) = user_id {
        if !organizations::is_member(db, organization_id, user_id).await? {
            return Ok(Err("the user is no longer a member of the organization"));
        }
    }
    Ok(Ok(Some(organization)))
}

/// The claims of a user's token issued with `scope` to a client restricted to
/// `restricted_to`, for `organization_id`; a refusal if the token may no longer speak for
/// that organization.
pub async fn for_user(
    db: &impl ConnectionTrait,
    restricted_to: Option<&str>,
    user_id: &str,
    organization_id: Option<&str>,
    scope: &Scopes,
) -> Result<Result<TokenAuthz, Refusal>, DbErr> {
    let organization =
        match organization_holds(db, restricted_to, Some(user_id), organization_id).await? {
            Ok(organization) => organization,
            Err(refusal) => return Ok(Err(refusal)),
        };
    let roles = if scope.contains(ROLES_SCOPE) {
        Some(roles_within(db, Subject::User(user_id), organization.as_ref()).await?)
    } else {
        None
    };
    let groups = if scope.contains(GROUPS_SCOPE) {
        Some(roles::groups_of(db, user_id).await?)
    } else {
        None
    };
    Ok(Ok(TokenAuthz {
        roles,
        groups,
        organization,
    }))
}

/// The claims of a client's own (`client_credentials`) token: its roles within the
/// organization it is restricted to (`restricted_to`, the cached `Client::organization_id`),
/// or its global roles if it is not restricted. A client belongs to no group: with the
/// `groups` scope the claim is an empty array. Reads the database only for the roles scope
/// or a restricted client's organization.
pub async fn for_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    restricted_to: Option<&str>,
    scope: &Scopes,
) -> Result<Result<TokenAuthz, Refusal>, DbErr> {
    let organization = match restricted_to {
        None => None,
        Some(id) => match organizations::find(db, id).await? {
            Some(org) => Some(org),
            None => return Ok(Err("the client's organization no longer exists")),
        },
    };
    let roles = if scope.contains(ROLES_SCOPE) {
        Some(roles_within(db, Subject::Client(client_id), organization.as_ref()).await?)
    } else {
        None
    };
    let groups = scope.contains(GROUPS_SCOPE).then(Vec::new);
    Ok(Ok(TokenAuthz {
        roles,
        groups,
        organization,
    }))
}

/// The claims of an API key (its introspection, and tokens exchanged for it): the roles of
/// its user or client within the key's organization (`organization_id`), or global roles
/// for a key of no organization, when `scope` holds the `roles` scope; the organization.
/// A refusal when the key's organization no longer holds: gone, the user no longer a
/// member, or the client now restricted to another (`client_restricted_to`).
pub async fn for_api_key(
    db: &impl ConnectionTrait,
    holder: Subject<'_>,
    client_restricted_to: Option<&str>,
    organization_id: Option<&str>,
    scope: &Scopes,
) -> Result<Result<TokenAuthz, Refusal>, DbErr> {
    let (restricted_to, user) = match holder {
        Subject::User(id) => (None, Some(id)),
        Subject::Client(_) => (client_restricted_to, None),
    };
    let organization = match organization_holds(db, restricted_to, user, organization_id).await? {
        Ok(organization) => organization,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let roles = if scope.contains(ROLES_SCOPE) {
        Some(roles_within(db, holder, organization.as_ref()).await?)
    } else {
        None
    };
    Ok(Ok(TokenAuthz {
        roles,
        groups: None,
        organization,
    }))
}

/// Effective roles within `organization`, or global ones without.
async fn roles_within(
    db: &impl ConnectionTrait,
    subject: Subject<'_>,
    organization: Option<&Organization>,
) -> Result<Vec<String>, DbErr> {
    let within = match organization {
        Some(org) => Within::Organization(&org.id),
        None => Within::Global,
    };
    roles::effective_roles(db, subject, within).await
}

/// Claim names a roles claim may not take: the ones Tessera already puts in its tokens and
/// responses.
const TAKEN_CLAIMS: [&str; 29] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "auth_time",
    "azp",
    "nonce",
    "at_hash",
    "amr",
    "idp",
    "sid",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "username",
    "active",
    "token_type",
    GROUPS_CLAIM,
    ORG_ID_CLAIM,
    ORG_NAME_CLAIM,
    // `oauth::token_minting::FAMILY_CLAIM` and `API_KEY_CLAIM` (named here: authz sits
    // below oauth).
    "tsr_fam",
    "tsr_key",
];

/// Checks a configured roles claim name (`TESSERA_ROLES_CLAIM`).
pub fn check_roles_claim(name: &str) -> Result<(), String> {
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
    if !well_formed {
        return Err(format!(
            "TESSERA_ROLES_CLAIM must be 1-64 letters, digits or _ - . : / (got {name:?})"
        ));
    }
    if TAKEN_CLAIMS.contains(&name) {
        return Err(format!(
            "TESSERA_ROLES_CLAIM may not be {name:?}: Tessera already uses that claim"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_have_one_shape() {
        let authz = TokenAuthz {
            roles: Some(vec!["admin".into()]),
            groups: Some(vec![]),
            organization: Some(Organization {
                id: "org_x".into(),
                slug: "acme".into(),
                name: "Acme".into(),
                created_at: 0,
            }),
        };
        let mut claims = Map::new();
        authz.write("https://example.com/roles", &mut claims);
        assert_eq!(
            Value::Object(claims),
            serde_json::json!({"https://example.com/roles": ["admin"], "groups": [], "org_id": "org_x", "org_name": "Acme"})
        );
        let mut claims = Map::new();
        TokenAuthz::default().write("roles", &mut claims);
        assert!(claims.is_empty(), "no scope, no organization: no claims");
    }

    #[test]
    fn a_roles_claim_may_not_shadow_another() {
        assert!(check_roles_claim("roles").is_ok());
        assert!(check_roles_claim("https://example.com/roles").is_ok());
        for taken in ["sub", "scope", "groups", "org_id", "tsr_fam", ""] {
            assert!(check_roles_claim(taken).is_err(), "{taken}");
        }
        assert!(check_roles_claim("a b").is_err());
    }
}
