//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (OAuth 2.0 Security BCP §4.14.2): every use returns a new refresh token; presenting a
//! rotated one revokes the whole family, unless the configured grace period lets the same
//! client have the current token again. The common case is one database statement.
use super::{target, Target as TokenTarget};
use crate::audit::{self, AuditEvent, Kind, Target};
use crate::oauth::error::{OAuthError, OAuthResult};
use crate::oauth::params::Params;
use crate::oauth::refresh_token_format::{self, RefreshTokenRef};
use crate::oauth::token_minting::{self, AccessGrant, TokenResponse};
use crate::state::AppState;
use crate::storage::clients::Client;
use crate::storage::families::{self, Family};
use crate::storage::rotations::Rotation;
use crate::types::Scopes;

/// Every refusal looks the same to the client; `why` tells the log which check refused it.
fn invalid(why: &'static str) -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked").with_detail(why)
}

pub async fn handle(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> OAuthResult<TokenResponse> {
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the refresh_token grant",
        ));
    }
    let now = state.clock.now();
    let target = target(state, params.get("resource")).await?;
    let presented = refresh_token_format::decode(&state.keys, params.require("refresh_token")?)
        .ok_or_else(|| invalid("not a refresh token of ours: malformed or bad MAC"))?;
    // A narrowed scope is checked against the grant before anything is rotated: a refused
    // request must leave the client's token usable.
    let narrowed = match params.get("scope") {
        None => None,
        Some(requested) => {
            let requested = Scopes::parse(requested)?;
            let family = families::find_family(&state.db, &presented.family_id)
                .await?
                .filter(|f| f.client_id == client.client_id)
                .ok_or_else(|| invalid("unknown family, or issued to another client"))?;
            if !requested.is_subset(&Scopes::from_stored(&family.scope)) {
                return Err(OAuthError::invalid_scope(
                    "a refresh may narrow the scope, never widen it",
                ));
            }
            Some(requested)
        }
    };
    let idle = now + state.settings.refresh_idle_seconds;
    let rotated = state
        .rotations
        .rotate(Rotation {
            family_id: presented.family_id.clone(),
            generation: presented.generation,
            client_id: client.client_id.clone(),
            now,
            idle_expires_at: idle,
        })
        .await?;
    let family = match rotated {
        Some(family) => family,
        None => not_rotated(state, client, &presented, now).await?,
    };
    // The refresh token keeps the full granted scope; only the access token is narrowed.
    let scope = narrowed.unwrap_or_else(|| Scopes::from_stored(&family.scope));
    // Roles and the organization are read again at every refresh: a role revoked since
    // is gone from this token, and a user who left the organization (or a client
    // restricted to another since) gets no token for it — the family is revoked.
    let authz = match crate::authz::for_user(
        &state.db,
        client.organization_id.as_deref(),
        &family.user_id,
        family.organization_id.as_deref(),
        &scope,
    )
    .await?
    {
        Ok(authz) => authz,
        Err(why) => {
            families::revoke_family(&state.db, &family.id, now).await?;
            return Err(invalid(why));
        }
    };
    let refresh_token = refresh_token_format::encode(&state.keys, &family.id, family.generation);
    respond(
        state,
        client,
        &family,
        (scope, &authz),
        &target,
        refresh_token,
        now,
    )
}

/// Why a rotation did not happen, and what follows from it: an older generation is a replay
/// (the family is revoked) unless it is the one rotated away within the grace period, which
/// gets the current token again; everything else is simply invalid. A disabled user's
/// family is revoked.
async fn not_rotated(
    state: &AppState,
    client: &Client,
    presented: &RefreshTokenRef,
    now: i64,
) -> OAuthResult<Family> {
    let family = families::find_family(&state.db, &presented.family_id)
        .await?
        .filter(|f| f.client_id == client.client_id)
        .ok_or_else(|| invalid("unknown family, or issued to another client"))?;
    if !families::refresh_live(&family, now) {
        return Err(invalid("family revoked, or idle or absolute lifetime over"));
    }
    let user_active = crate::storage::users::find(&state.db, &family.user_id)
        .await?
        .is_some_and(|u| !u.disabled);
    if !user_active {
        families::revoke_family(&state.db, &family.id, now).await?;
        return Err(invalid("user disabled or deleted; family revoked"));
    }
    if presented.generation >= family.generation {
        // The live token that failed the update only at an expiry boundary, or a
        // generation not reached yet: nothing to revoke.
        return Err(invalid("live generation refused at an expiry boundary"));
    }
    if within_grace(state, &family, presented.generation, now) {
        return Ok(family);
    }
    tracing::warn!(
        target: "security",
        event = "refresh_token_reuse",
        client_id = %client.client_id,
        family = %family.id,
        "a rotated refresh token was presented again; revoking its family"
    );
    state.metrics.refresh_reuse();
    families::revoke_family(&state.db, &family.id, now).await?;
    audit::record(
        state,
        AuditEvent::new(Kind::RefreshTokenReuse)
            .client(&client.client_id)
            .user(&family.user_id)
            .reason("rotated_generation_replayed")
            .target(Target::Family(family.id.clone())),
    );
    Err(invalid("replay of a rotated generation; family revoked"))
}

/// The grace period lets the same client (already checked) present the token rotated away
/// last, at most `TESSERA_REFRESH_GRACE_SECONDS` ago — for apps refreshing from several tabs
/// at once. It gets the current refresh token, so every tab ends up holding the live one.
fn within_grace(state: &AppState, family: &Family, generation: i64, now: i64) -> bool {
    let grace = state.settings.refresh_grace_seconds;
    grace > 0
        && generation == family.generation - 1
        && family.rotated_at.is_some_and(|t| now - t <= grace)
}

fn respond(
    state: &AppState,
    client: &Client,
    family: &Family,
    (scope, authz): (Scopes, &crate::authz::TokenAuthz),
    target: &TokenTarget,
    refresh_token: String,
    now: i64,
) -> OAuthResult<TokenResponse> {
    let scope = target.scope(&scope);
    let access_token = token_minting::access_token(
        state,
        &AccessGrant {
            subject: &family.user_id,
            client_id: &client.client_id,
            scope: &scope,
            audience: target.audience.clone(),
            family_id: Some(&family.id),
            api_key_id: None,
            lifetime: None,
            auth_time: Some(family.auth_time),
            authz,
        },
        now,
    )
    .map_err(crate::error::AppError::from)?;
    audit::record(
        state,
        AuditEvent::new(Kind::TokenIssued)
            .grant_type("refresh_token")
            .client(&client.client_id)
            .user(&family.user_id)
            .target(Target::Family(family.id.clone())),
    );
    // OIDC Core §12.2 lets a refresh response omit the ID token. We do: the client already
    // holds one for this authentication, and an RS256 signature would double the cost of a
    // refresh.
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.settings.access_token_ttl,
        scope: scope.to_string(),
        refresh_token: Some(refresh_token),
        id_token: None,
        issued_token_type: None,
    })
}
