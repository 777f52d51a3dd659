//! Token introspection (RFC 7662) for authenticated confidential clients. An access token is
//! shown active only to the client it was issued to, to a client named in its `aud`, or to an
//! introspecting client of a registered resource named in its `aud` (`crate::resources`); a
//! refresh token only to its client; an API key to any of them (`apikeys::may_introspect`).
//! To a client restricted to an organization, a token or key is active only if it speaks for
//! (belongs to) that organization; and a token that speaks for an organization only while it
//! still holds (see `crate::authz`).
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Map, Value};

use super::access::{self, Checked};
use super::client_auth;
use super::error::{OAuthError, OAuthResult};
use super::params::FormParams;
use super::refresh_token_format::{self, RefreshTokenRef};
use super::token_endpoint::no_store;
use crate::authz::{GROUPS_CLAIM, ORG_ID_CLAIM, ORG_NAME_CLAIM};
use crate::state::AppState;
use crate::storage::families;
use crate::throttle::ClientIp;
use crate::types::AuthMethod;

pub const PATH: &str = "/introspect";

pub async fn handler(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormParams(params): FormParams,
) -> OAuthResult<Response> {
    let client = client_auth::authenticate(
        &state,
        &headers,
        &params,
        &state.settings.endpoint(PATH),
        ip,
    )
    .await?;
    if client.public || client.auth_method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "public clients may not introspect tokens",
        ));
    }
    let token = params.require("token")?;
    // A client restricted to one organization sees only that organization's tokens and keys.
    let caller = Caller {
        client_id: &client.client_id,
        organization_id: client.organization_id.as_deref(),
    };
    // The hint (RFC 7662 §2.1) needs no look-up order: a refresh token is recognised by its
    // MAC without the database, so everything else is tried as an access token.
    // An API key is recognised by its format and checksum, without the database.
    let found = if crate::apikeys::format::is_well_formed(token) {
        api_key(&state, &caller, token).await?
    } else {
        match refresh_token_format::decode(&state.keys, token) {
            Some(presented) => refresh(&state, &caller, presented).await?,
            None => access(&state, &caller, token).await?,
        }
    };
    let body = if found.is_empty() {
        inactive()
    } else {
        Value::Object(found)
    };
    Ok(no_store(Json(body)))
}

/// The introspecting client and the organization it is restricted to.
struct Caller<'a> {
    client_id: &'a str,
    organization_id: Option<&'a str>,
}

fn inactive() -> Value {
    json!({ "active": false })
}

async fn may_see(
    state: &AppState,
    client_id: &str,
    claims: &Map<String, Value>,
) -> OAuthResult<bool> {
    if claims.get("client_id").and_then(Value::as_str) == Some(client_id) {
        return Ok(true);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if audiences.contains(&client_id) {
        return Ok(true);
    }
    let resources = crate::resources::all(state).await?;
    Ok(crate::resources::may_introspect(
        &resources, client_id, &audiences,
    ))
}

/// The introspection response of a live API key: who it acts for, its scope, the roles and
/// organization of the one shape (`crate::authz`), and `token_type` `api_key` so that a
/// resource server can tell it from an access token. Inactive to a client restricted to
/// another organization, and once the key's organization no longer holds.
async fn api_key(
    state: &AppState,
    caller: &Caller<'_>,
    presented: &str,
) -> OAuthResult<Map<String, Value>> {
    let Some(key) = crate::apikeys::check(state, presented).await? else {
        return Ok(Map::new());
    };
    if !crate::apikeys::may_introspect(caller.organization_id, &key) {
        return Ok(Map::new());
    }
    let scope = crate::types::Scopes::from_stored(&key.scope);
    let Some(authz) = crate::apikeys::authz_of(state, &key, &scope).await? else {
        return Ok(Map::new());
    };
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    body.insert("scope".into(), key.scope.clone().into());
    if let Some(user_id) = &key.user_id {
        body.insert("sub".into(), user_id.clone().into());
        if let Some(user) = crate::storage::users::find(&state.db, user_id).await? {
            body.insert("username".into(), user.username.into());
        }
    }
    if let Some(client_id) = &key.client_id {
        body.insert("sub".into(), client_id.clone().into());
        body.insert("client_id".into(), client_id.clone().into());
    }
    if let Some(exp) = key.expires_at {
        body.insert("exp".into(), exp.into());
    }
    body.insert("iat".into(), key.created_at.into());
    body.insert("iss".into(), state.settings.issuer_str().into());
    body.insert("jti".into(), key.id.clone().into());
    authz.write(&state.settings.roles_claim, &mut body);
    body.insert("token_type".into(), "api_key".into());
    Ok(body)
}

/// The introspection response of an active access token of ours; empty for anything else.
async fn access(
    state: &AppState,
    caller: &Caller<'_>,
    token: &str,
) -> OAuthResult<Map<String, Value>> {
    let client_id = caller.client_id;
    let Checked::Active(claims) = access::check(state, token, Some(client_id)).await? else {
        return Ok(Map::new());
    };
    if !may_see(state, client_id, &claims).await? {
        return Ok(Map::new());
    }
    let token_org = claims.get(ORG_ID_CLAIM).and_then(Value::as_str);
    if caller.organization_id.is_some() && caller.organization_id != token_org {
        return Ok(Map::new());
    }
    // Client-credentials tokens have the client as subject; user tokens name a user.
    let user_token = claims.contains_key(super::token_minting::FAMILY_CLAIM);
    let token_client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let sub = claims.get("sub").and_then(Value::as_str);
    if token_org.is_some() {
        // The organization must still hold: the user still a member, the client still
        // restricted to it (or to none), the organization still there.
        let user = sub.filter(|_| user_token);
        let Some(issued_to) = state.clients.get(&state.db, token_client).await? else {
            return Ok(Map::new());
        };
        let restricted_to = issued_to.organization_id.as_deref();
        if crate::authz::organization_holds(&state.db, restricted_to, user, token_org)
            .await?
            .is_err()
        {
            return Ok(Map::new());
        }
    }
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    for name in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "aud",
        "iss",
        "jti",
        "auth_time",
    ] {
        if let Some(value) = claims.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    for name in [
        state.settings.roles_claim.as_str(),
        GROUPS_CLAIM,
        ORG_ID_CLAIM,
        ORG_NAME_CLAIM,
    ] {
        if let Some(value) = claims.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    if let Some(sub) = sub.filter(|_| user_token) {
        match crate::storage::users::find(&state.db, sub).await? {
            Some(user) if !user.disabled => {
                body.insert("username".into(), user.username.into());
            }
            _ => return Ok(Map::new()),
        }
    }
    body.insert("token_type".into(), "Bearer".into());
    Ok(body)
}

async fn refresh(
    state: &AppState,
    caller: &Caller<'_>,
    presented: RefreshTokenRef,
) -> OAuthResult<Map<String, Value>> {
    let client_id = caller.client_id;
    let Some(family) = families::find_family(&state.db, &presented.family_id).await? else {
        return Ok(Map::new());
    };
    let now = state.clock.now();
    let live = families::refresh_live(&family, now)
        && presented.generation == family.generation
        && family.client_id == client_id;
    if !live {
        return Ok(Map::new());
    }
    if caller.organization_id.is_some()
        && caller.organization_id != family.organization_id.as_deref()
    {
        return Ok(Map::new());
    }
    let mut body = Map::new();
    body.insert("active".into(), true.into());
    body.insert("scope".into(), family.scope.into());
    body.insert("client_id".into(), family.client_id.into());
    body.insert("sub".into(), family.user_id.into());
    body.insert(
        "exp".into(),
        family.idle_expires_at.min(family.expires_at).into(),
    );
    body.insert(
        "iat".into(),
        family.rotated_at.unwrap_or(family.created_at).into(),
    );
    body.insert("iss".into(), state.settings.issuer_str().into());
    if let Some(org) = &family.organization_id {
        body.insert(ORG_ID_CLAIM.into(), org.clone().into());
    }
    body.insert("token_type".into(), "refresh_token".into());
    Ok(body)
}
