//! askama templates, one struct per `templates/*.html`; autoescaping is on for all of them.
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;

/// A button on the login page that starts login through an upstream provider.
pub struct UpstreamButton {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub password_login: bool,
    pub upstreams: Vec<UpstreamButton>,
}

pub struct ScopeLine {
    pub name: String,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub client_name: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub scopes: Vec<ScopeLine>,
    /// The organization the sign-in is for, when the request named or the user chose one.
    pub organization: Option<String>,
    /// The app's registered home page, privacy policy and terms (https URLs, checked at
    /// registration).
    pub client_uri: Option<&'a str>,
    pub policy_uri: Option<&'a str>,
    pub tos_uri: Option<&'a str>,
}

/// One organization the user may sign in for.
pub struct OrganizationChoice {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// The organization selection page: one CSRF-protected button per organization.
#[derive(Template)]
#[template(path = "organization.html")]
pub struct OrganizationPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub choices: Vec<OrganizationChoice>,
}

/// Every error page: what went wrong, what to do, and a way back to sign-in when there is one.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// The login page of the pending request, when the user can try again.
    pub retry: Option<String>,
}

/// Renders a page with `Cache-Control: no-store` (pages carry CSRF tokens and user data).
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// An error page for a request we cannot safely redirect back (unknown client, unregistered
/// redirect URI, expired login link).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            title,
            message,
            retry: None,
        },
    )
}

pub const STYLESHEET: &str = include_str!("../templates/tessera.css");

/// RP-Initiated Logout's confirmation: which app asks, and the request carried as hidden
/// fields (already checked) into the CSRF-protected form.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub client_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub csrf: &'a str,
    pub carried: Vec<(&'static str, String)>,
}

/// After a logout (or a logout declined): what happened.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}
