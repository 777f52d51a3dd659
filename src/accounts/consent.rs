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
use crate::storage::{clients, consents, users};
use crate::types::Scopes;
use crate::views::{error_page, page, ConsentPage, ScopeLine};

fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "confirm who you are",
        "profile" => "your name and username",
        "email" => "your email address",
        "offline_access" => "stay signed in to your account when you are not using it",
        "roles" => "the roles you hold",
        "groups" => "the groups you belong to",
        "organization" => "the organization you sign in for",
        _ => "access defined by the application",
    }
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
    let Some(login) = session::active_login(&state, &session).await? else {
        return Ok(expired(&state, &headers));
    };
    let user = users::find(&state.db, &login.user_id).await?;
    let client = clients::find(&state.db, &request.client_id).await?;
    let (Some(user), Some(client)) = (user, client) else {
        return Ok(expired(&state, &headers));
    };
    let csrf = session::csrf_token(&session).await?;
    let organization = match &request.organization {
        Some(named) => crate::storage::organizations::find_by_id_or_slug(&state.db, named)
            .await?
            .map(|o| o.name),
        None => None,
    };
    let scopes = Scopes::from_stored(&request.scope)
        .iter()
        .map(|s| ScopeLine {
            name: s.to_string(),
            description: describe(s),
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &ConsentPage {
            client_name: &client.name,
            client_id: &client.client_id,
            username: &user.username,
            request_id: &request_id,
            csrf: &csrf,
            scopes,
            organization,
            client_uri: client.client_uri.as_deref(),
            policy_uri: client.policy_uri.as_deref(),
            tos_uri: client.tos_uri.as_deref(),
        },
    ))
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
        _ => Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "Choose Allow or Deny.",
        )),
    }
}
