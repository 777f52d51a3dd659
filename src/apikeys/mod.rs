//! API keys (personal access tokens) for users and clients: made once and shown once
//! (`create`), stored only as a keyed hash, listed and revoked by id. A resource server uses
//! one by introspection (`oauth::introspect`) or exchanges it for a short JWT access token
//! (`oauth::grants::token_exchange`); both go through [`check`], which reads the key from the
//! database on every use so that a revocation or expiry counts at once on every instance.
//!
//! Used by `cli/apikeys.rs` and, for a user's own keys, by the account page (issue 12):
//! [`create`] with [`Owner::User`], [`list`] with that user, [`revoke`] with `Some(user_id)`.
pub mod format;
pub mod usage;

use crate::audit::{AuditEvent, Kind, Target};
use crate::authz::TokenAuthz;
use crate::error::AppError;
use crate::jose::keys::Keys;
use crate::secrets::Secret;
use crate::state::AppState;
use crate::storage::api_keys::{self as store, ApiKeyRow};
use crate::storage::roles::Subject;
use crate::storage::{self, Db};
use crate::types::Scopes;

/// The longest lifetime a key may be given (`--expires-in`): five years.
pub const MAX_LIFETIME: i64 = 5 * 366 * 24 * 3600;
/// The lifetime `tessera apikey create` gives a key unless told otherwise (90 days); the
/// account page should offer the same default. (`NewApiKey::lifetime` None means never.)
pub const DEFAULT_LIFETIME: i64 = 90 * 24 * 3600;

/// Who a key acts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A user, by id (`sub`).
    User(String),
    /// A confidential client, by client_id.
    Client(String),
}

/// What to create.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub owner: Owner,
    pub name: String,
    /// None: a client key gets the client's scopes, a user key none.
    pub scope: Option<Scopes>,
    /// Seconds until it expires; None: it never expires.
    pub lifetime: Option<i64>,
    /// The organization the key belongs to (see `entity::api_keys`): one the user is a
    /// member of; for a client's key, None or the client's restriction, which it always gets.
    pub organization_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The request breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// Scopes that make no sense for a key: it yields no ID token and no refresh token.
const NOT_FOR_KEYS: [&str; 2] = ["openid", "offline_access"];

/// Creates a key and returns it with the key itself, which is never stored nor shown again.
pub async fn create(
    db: &Db,
    keys: &Keys,
    new: NewApiKey,
    now: i64,
) -> Result<(ApiKeyRow, Secret), ApiKeyError> {
    let invalid = |m: &str| Err(ApiKeyError::Invalid(m.to_string()));
    let name = new.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return invalid("the key's name must be 1 to 100 characters without control characters");
    }
    if let Some(lifetime) = new.lifetime {
        if !(1..=MAX_LIFETIME).contains(&lifetime) {
            return invalid("the lifetime must be between 1 second and 5 years");
        }
    }
    let requested = new.scope.unwrap_or_default();
    if let Some(s) = NOT_FOR_KEYS.iter().find(|s| requested.contains(s)) {
        return Err(ApiKeyError::Invalid(format!(
            "an API key cannot hold the scope {s} (it yields access tokens only)"
        )));
    }
    let (user_id, client_id, scope, organization_id) = match &new.owner {
        Owner::User(id) => {
            let user = match storage::users::find(db, id).await? {
                Some(user) if !user.disabled => user,
                Some(_) => return invalid("the user is disabled"),
                None => return invalid("no such user"),
            };
            // A user's key belongs to one of their organizations, or to none.
            if let Some(org) = &new.organization_id {
                if !storage::organizations::is_member(db, org, &user.id).await? {
                    return invalid("the user is not a member of that organization");
                }
            }
            (Some(user.id), None, requested, new.organization_id)
        }
        Owner::Client(id) => {
            let Some(client) = storage::clients::find(db, id).await? else {
                return invalid("no such client");
            };
            if client.public {
                return invalid("API keys are for confidential clients only");
            }
            let allowed = NOT_FOR_KEYS
                .iter()
                .fold(client.scopes.clone(), |s, n| s.without(n));
            let scope = if requested.is_empty() {
                allowed
            } else if requested.is_subset(&allowed) {
                requested
            } else {
                return invalid("the scope exceeds what the client may request");
            };
            // A client's key belongs to the organization the client is restricted to, and
            // to no other: it may not widen what the client can reach.
            if new.organization_id.is_some() && new.organization_id != client.organization_id {
                return invalid(
                    "a client's key belongs to the organization the client is restricted to, and no other",
                );
            }
            (None, Some(client.client_id), scope, client.organization_id)
        }
    };
    let key = format::generate();
    let row = ApiKeyRow {
        id: format!("ak_{}", crate::secrets::random_token(9)),
        key_hash: hash(keys, &key),
        prefix: format::shown_part(&key).to_string(),
        name,
        user_id,
        client_id,
        organization_id,
        scope: scope.to_string(),
        created_at: now,
        expires_at: new.lifetime.map(|l| now + l),
        last_used_at: None,
        revoked_at: None,
    };
    store::insert(db, row.clone()).await?;
    Ok((row, Secret(key)))
}

/// The keys of `owner` (every key when None), oldest first.
pub async fn list(db: &Db, owner: Option<&Owner>) -> Result<Vec<ApiKeyRow>, sea_orm::DbErr> {
    let filter = match owner {
        None => store::Owner::default(),
        Some(Owner::User(id)) => store::Owner {
            user_id: Some(id.clone()),
            client_id: None,
        },
        Some(Owner::Client(id)) => store::Owner {
            user_id: None,
            client_id: Some(id.clone()),
        },
    };
    store::list(db, &filter).await
}

/// Revokes key `id` — only if it is `user_id`'s, when given (a user revoking their own). False
/// if there is no such live key. Refused from the commit on, on every instance.
pub async fn revoke(
    db: &Db,
    id: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<bool, sea_orm::DbErr> {
    store::revoke(db, id, user_id, now).await
}

/// The audit event of an action on `key` (creation, revocation, exchange): ids only.
pub fn audit_event(kind: Kind, key: &ApiKeyRow) -> AuditEvent {
    let mut event = AuditEvent::new(kind).target(Target::ApiKey(key.id.clone()));
    if let Some(user) = &key.user_id {
        event = event.user(user);
    }
    if let Some(client) = &key.client_id {
        event = event.client(client);
    }
    event
}

/// Whether a key is live at `now`: neither revoked nor expired.
pub fn is_live(key: &ApiKeyRow, now: i64) -> bool {
    key.revoked_at.is_none() && key.expires_at.is_none_or(|exp| now < exp)
}

/// The keyed hash stored for `key`: HMAC-SHA256 under a key derived from the pepper, so a
/// copy of the database alone cannot test guesses.
pub fn hash(keys: &Keys, key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::hmac::sign(&keys.api_key_key, key.as_bytes()))
}

/// A key presented to us, live, whose owner still exists and may act; None for anything
/// else (malformed, unknown, revoked, expired, owner gone or disabled). Reads the database
/// every time: no cache can hide a revocation. Notes the use for `last_used_at`.
pub async fn check(state: &AppState, presented: &str) -> Result<Option<ApiKeyRow>, AppError> {
    if !format::is_well_formed(presented) {
        return Ok(None);
    }
    let Some(key) = store::find_by_hash(&state.db, &hash(&state.keys, presented)).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if !is_live(&key, now) {
        return Ok(None);
    }
    if !owner_may_act(state, &key).await? {
        return Ok(None);
    }
    state.api_key_usage.note(&key.id, now);
    Ok(Some(key))
}

/// Whether the key's user exists and is not disabled, or its client still exists.
async fn owner_may_act(state: &AppState, key: &ApiKeyRow) -> Result<bool, AppError> {
    Ok(match (&key.user_id, &key.client_id) {
        (Some(user), _) => storage::users::find(&state.db, user)
            .await?
            .is_some_and(|u| !u.disabled),
        (None, Some(client)) => state.clients.get(&state.db, client).await?.is_some(),
        (None, None) => false,
    })
}

/// Whether key `id` is still live, its owner may act and its organization still holds for
/// it (for access tokens exchanged from it, checked wherever we are shown one:
/// introspection, userinfo).
pub async fn is_id_live(state: &AppState, id: &str) -> Result<bool, AppError> {
    match store::find(&state.db, id).await? {
        Some(key) if is_live(&key, state.clock.now()) => {
            if !owner_may_act(state, &key).await? {
                return Ok(false);
            }
            if key.organization_id.is_none() {
                return Ok(true);
            }
            // No scope: the organization checks alone, no roles read.
            Ok(authz_of(state, &key, &Scopes::default()).await?.is_some())
        }
        _ => Ok(false),
    }
}

/// The authorization claims of `key` for `scope` (the key's own for introspection, the
/// exchanged token's for an exchange): with the `roles` scope, the roles of its user or
/// client within the key's organization only (global roles for a key of no organization),
/// read fresh (no cache) through `storage::roles::effective_roles`; `org_id`/`org_name` for a
/// key of an organization. None when that organization no longer holds for the key (gone,
/// the user no longer a member, the client restricted to another since): the key then
/// counts as not live.
pub async fn authz_of(
    state: &AppState,
    key: &ApiKeyRow,
    scope: &Scopes,
) -> Result<Option<TokenAuthz>, AppError> {
    let (holder, client_restricted_to) = match (&key.user_id, &key.client_id) {
        (Some(user), _) => (Subject::User(user), None),
        (None, Some(client)) => {
            let restricted = state
                .clients
                .get(&state.db, client)
                .await?
                .and_then(|c| c.organization_id.clone());
            (Subject::Client(client), restricted)
        }
        (None, None) => return Ok(None),
    };
    let authz = crate::authz::for_api_key(
        &state.db,
        holder,
        client_restricted_to.as_deref(),
        key.organization_id.as_deref(),
        scope,
    )
    .await?;
    Ok(authz.ok())
}

/// Whether a caller (an authenticated confidential client) restricted to the organization
/// `caller_organization` may introspect or exchange `key`. An unrestricted caller may see any
/// key (a resource server receives keys of users and clients it does not know in advance); a
/// restricted one only its own organization's keys, so that one organization's API never
/// accepts another's keys.
pub fn may_introspect(caller_organization: Option<&str>, key: &ApiKeyRow) -> bool {
    caller_organization.is_none() || caller_organization == key.organization_id.as_deref()
}

/// Seconds from a `--expires-in` value: `90d`, `12h`, `30m`, `45s`, or plain seconds; `never`
/// is None.
pub fn parse_lifetime(value: &str) -> Result<Option<i64>, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_lowercase()),
        _ => (value, 's'),
    };
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit in {value:?} (use s, m, h or d)")),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{value:?} is not a duration such as 90d, 12h or 3600"))?;
    n.checked_mul(factor)
        .map(Some)
        .ok_or_else(|| format!("{value:?} is too long"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_write_them() {
        assert_eq!(parse_lifetime("90d"), Ok(Some(90 * 86_400)));
        assert_eq!(parse_lifetime("12h"), Ok(Some(43_200)));
        assert_eq!(parse_lifetime("30m"), Ok(Some(1_800)));
        assert_eq!(parse_lifetime("3600"), Ok(Some(3_600)));
        assert_eq!(parse_lifetime("never"), Ok(None));
        assert!(parse_lifetime("3w").is_err());
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("-").is_err());
    }
}
