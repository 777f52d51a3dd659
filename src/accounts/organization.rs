//! The organization selection page: a user who belongs to several organizations picks the
//! one a sign-in is for, when the app asks for the `organization` scope and the request
//! names none. Only the user's own organizations are offered, and the choice is checked
//! again by `interaction::decide` (a forged form cannot pick another).
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tower_sessions::Session;

use crate::error::AppError;
use crate::oauth::interaction::{self, expired, session};
use crate::state::AppState;
use crate::storage::{clients, organizations};
use crate::views::{error_page, page, OrganizationChoice, OrganizationPage};

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
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
    let Some(client) = clients::find(&state.db, &request.client_id).await? else {
        return Ok(expired(&state, &headers));
    };
    let choices = organizations::of_user(&state.db, &login.user_id)
        .await?
        .into_iter()
        .map(|o| OrganizationChoice {
            id: o.id,
            name: o.name,
            slug: o.slug,
        })
        .collect();
    let csrf = session::csrf_token(&session).await?;
    Ok(page(
        StatusCode::OK,
        &OrganizationPage {
            ui: crate::views::Ui::current(),
            client_name: &client.name,
            request_id: &request_id,
            csrf: &csrf,
            choices,
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
    if session::active_login(&state, &session).await?.is_none() {
        return Ok(expired(&state, &headers));
    }
    let Some(chosen) = params.get("organization").filter(|o| !o.is_empty()) else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "error-form-title",
            "error-organization-choose",
        ));
    };
    request.organization = Some(chosen.chars().take(64).collect());
    interaction::proceed(&state, &session, request, Some(request_id)).await
}
