//! The consent page: names the client and the scopes, with allow and deny.
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::audit::{self, AuditEvent, Kind};
use crate::error::AppError;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::interaction::{self, expired, session};
use crate::state::AppState;
use crate::storage::{clients, consents};
use crate::types::Scopes;
use crate::views::{app_page, AppCard, ConsentPage, ErrorPage, ScopeLine, Tr, Ui};

/// The order scopes are listed in: `openid` (who you are) first, then what the app may
/// read, and `offline_access` last, since it says how long the others last.
fn rank(scope: &str) -> u8 {
    match scope {
        "openid" => 0,
        "profile" => 1,
        "email" => 2,
        "organization" => 3,
        "roles" => 4,
        "groups" => 4,
        "offline_access" => 9,
        _ => 5,
    }
}

/// A scope in plain words: the catalog's `scope-NAME` and `scope-NAME-desc` for the scopes
/// Tessera defines, the scope's own name for one an app defines.
fn describe(tr: &Tr, scope: &str) -> ScopeLine {
    let (title, description) = match scope {
        "openid" => ("scope-openid", "scope-openid-desc"),
        "profile" => ("scope-profile", "scope-profile-desc"),
        "email" => ("scope-email", "scope-email-desc"),
        "offline_access" => ("scope-offline_access", "scope-offline_access-desc"),
        "roles" => ("scope-roles", "scope-roles-desc"),
        "groups" => ("scope-groups", "scope-groups-desc"),
        "organization" => ("scope-organization", "scope-organization-desc"),
        _ => {
            return ScopeLine {
                name: scope.to_string(),
                title: scope.to_string(),
                description: tr.t("scope-other-desc"),
            }
        }
    };
    ScopeLine {
        name: scope.to_string(),
        title: tr.t(title),
        description: tr.t(description),
    }
}

/// `scopes` in display order and plain words (the account page's connected apps).
pub fn describe_all(tr: &Tr, scopes: &Scopes) -> Vec<ScopeLine> {
    let mut scopes: Vec<&str> = scopes.iter().collect();
    scopes.sort_by_key(|s| rank(s));
    scopes.into_iter().map(|s| describe(tr, s)).collect()
}

/// The requested scopes in display order, split into those not yet allowed and those the
/// user already allowed this app.
fn scope_lines(tr: &Tr, requested: &Scopes, granted: &Scopes) -> (Vec<ScopeLine>, Vec<ScopeLine>) {
    let mut scopes: Vec<&str> = requested.iter().collect();
    scopes.sort_by_key(|s| rank(s));
    let (old, new): (Vec<&str>, Vec<&str>) = scopes.into_iter().partition(|s| granted.contains(s));
    (
        new.into_iter().map(|s| describe(tr, s)).collect(),
        old.into_iter().map(|s| describe(tr, s)).collect(),
    )
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let Some(request_id) = interaction::request_id(query) else {
        return Ok(expired(&state, &headers));
    };
    let Some(request) = session::load_pending(&session, &request_id, state.clock.now()).await?
    else {
        return Ok(expired(&state, &headers));
    };
    crate::views::i18n::prefer(request.ui_locales.as_deref());
    let found = session::active_login_with_consent(&state, &session, &request.client_id).await?;
    let client = clients::find(&state.db, &request.client_id).await?;
    let (Some((_, user, granted)), Some(client)) = (found, client) else {
        return Ok(expired(&state, &headers));
    };
    let csrf = session::csrf_token(&session).await?;
    let organization = match &request.organization {
        Some(named) => crate::storage::organizations::find_by_id_or_slug(&state.db, named)
            .await?
            .map(|o| o.name),
        None => None,
    };
    let ui = Ui::current();
    let (new_scopes, granted_scopes) =
        scope_lines(&ui.tr, &Scopes::from_stored(&request.scope), &granted);
    let consent = ConsentPage {
        ui,
        app: AppCard {
            name: &client.name,
            logo: client.logo_uri.as_deref(),
        },
        client_id: &client.client_id,
        username: &user.username,
        request_id: &request_id,
        csrf: &csrf,
        new_scopes,
        granted_scopes,
        organization,
        client_uri: client.client_uri.as_deref(),
        policy_uri: client.policy_uri.as_deref(),
        tos_uri: client.tos_uri.as_deref(),
    };
    Ok(app_page(StatusCode::OK, &consent.app, &consent))
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let params = match interaction::read_form(&session, &headers, &body).await? {
        Ok(params) => params,
        Err(page) => return Ok(*page),
    };
    let now = state.clock.now();
    let request_id = params.get("request_id").unwrap_or_default().to_string();
    let Some(mut request) = session::load_pending(&session, &request_id, now).await? else {
        return Ok(expired(&state, &headers));
    };
    crate::views::i18n::prefer(request.ui_locales.as_deref());
    let Some(login) = session::active_login(&state, &session).await? else {
        return Ok(expired(&state, &headers));
    };
    match params.get("decision") {
        Some("allow") => {
            let scope = Scopes::from_stored(&request.scope);
            consents::grant(&state.db, &login.user_id, &request.client_id, &scope, now).await?;
            audit::record(
                &state,
                AuditEvent::new(Kind::ConsentGiven)
                    .client(&request.client_id)
                    .user(&login.user_id),
            );
            request.consent_done = true;
            interaction::proceed(&state, &session, request, Some(request_id)).await
        }
        Some("deny") => {
            session::remove_pending(&session, &request_id).await?;
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            Ok(interaction::fail(&state, &request, &error))
        }
        _ => Ok(ErrorPage::keys("error-form-title", "error-consent-choose")
            .back(interaction::consent_url(&request_id), "error-try-again")
            .respond(StatusCode::BAD_REQUEST)),
    }
}
