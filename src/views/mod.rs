//! The pages: askama templates, one struct per `templates/*.html` (autoescaping on for all),
//! each with a [`Ui`]: the translator, the brand and the asset URLs `base.html` needs.
//!
//! - `i18n`: the Fluent catalogs (`locales/*.ftl`) and the language of a request;
//! - `assets`: the stylesheet, logo and extra stylesheet, served at hashed URLs;
//! - `brand`: the brand colour and the contrast rules it must keep;
//! - `account`: the account page.
pub mod account;
pub mod assets;
pub mod brand;
pub mod i18n;

use std::sync::Arc;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::error::AppError;
pub use account::{AccountPage, ApiKeyCreatedPage, ApiKeyLine, AppLine, IdentityLine, SessionLine};
use assets::Assets;
pub use i18n::Tr;

/// The Content-Security-Policy of every response (set in `app.rs`): nothing but our own
/// stylesheets and images, no scripts, no frames.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every page needs besides its own fields: the translator (templates call
/// `ui.t("key")`), the language, the brand and the asset URLs.
pub struct Ui {
    pub tr: Tr,
    assets: Arc<Assets>,
}

impl Ui {
    /// For the current request (its language and the server's brand).
    pub fn current() -> Ui {
        Ui {
            tr: Tr::current(),
            assets: i18n::current_assets(),
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.tr.t1(key, name, value)
    }

    pub fn t2(
        &self,
        key: &str,
        name: &str,
        value: impl std::fmt::Display,
        name2: &str,
        value2: impl std::fmt::Display,
    ) -> String {
        self.tr.ta(
            key,
            &[(name, value.to_string()), (name2, value2.to_string())],
        )
    }

    pub fn lang(&self) -> &'static str {
        self.tr.lang.tag()
    }

    pub fn brand(&self) -> &str {
        &self.assets.brand_name
    }

    pub fn stylesheet(&self) -> &str {
        &self.assets.stylesheet.url
    }

    pub fn extra_css(&self) -> Option<&str> {
        self.assets.extra_css.as_ref().map(|a| a.url.as_str())
    }

    pub fn logo(&self) -> Option<&str> {
        self.assets.logo.as_ref().map(|a| a.url.as_str())
    }
}

/// A link on a page ("Back to the app", "Start again").
pub struct Link {
    pub href: String,
    pub label: String,
}

/// A button on the login page that starts login through an upstream provider.
pub struct UpstreamButton {
    pub href: String,
    pub label: String,
}

/// The app a login or consent page is for.
pub struct AppCard<'a> {
    pub name: &'a str,
    /// Its registered `logo_uri` (https, checked at registration); shown only when set.
    pub logo: Option<&'a str>,
}

impl AppCard<'_> {
    /// The origin the page must allow images from, for the app's logo.
    fn image_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.logo?).ok()?;
        (url.scheme() == "https").then(|| url.origin().ascii_serialization())
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub ui: Ui,
    pub app: AppCard<'a>,
    /// What signing in continues to: the app, or the account page.
    pub lead: String,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    /// Why the last attempt failed, announced (`role="alert"`).
    pub error: Option<String>,
    pub password_login: bool,
    pub upstreams: Vec<UpstreamButton>,
    /// `TESSERA_PASSWORD_RESET_URL`: the "Forgot your password?" link, only when set.
    pub reset_url: Option<&'a str>,
}

/// A scope on the consent page, in plain words.
pub struct ScopeLine {
    pub name: String,
    pub title: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub ui: Ui,
    pub app: AppCard<'a>,
    pub client_id: &'a str,
    pub username: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    /// Scopes asked for now that the user has not allowed before.
    pub new_scopes: Vec<ScopeLine>,
    /// Scopes asked for that the user already allowed this app.
    pub granted_scopes: Vec<ScopeLine>,
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
    pub ui: Ui,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub choices: Vec<OrganizationChoice>,
}

/// Every error page: what went wrong, what to do next, and a way back when there is one.
/// Never an internal message: `detail` is what the app's developer needs (a protocol
/// check's wording), shown apart.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub ui: Ui,
    pub title: String,
    pub message: String,
    pub detail: Option<String>,
    pub back: Option<Link>,
}

impl ErrorPage {
    /// A page of the current request's language from two catalog keys.
    pub fn keys(title: &str, message: &str) -> ErrorPage {
        let tr = Tr::current();
        ErrorPage::text(tr.t(title), tr.t(message))
    }

    /// A page from texts already translated.
    pub fn text(title: String, message: String) -> ErrorPage {
        ErrorPage {
            ui: Ui::current(),
            title,
            message,
            detail: None,
            back: None,
        }
    }

    /// A link back: to the app, or to start again (`label` is a catalog key).
    pub fn back(mut self, href: String, label: &str) -> ErrorPage {
        self.back = Some(Link {
            href,
            label: self.ui.t(label),
        });
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> ErrorPage {
        self.detail = Some(detail.into());
        self
    }

    pub fn respond(self, status: StatusCode) -> Response {
        page(status, &self)
    }
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

/// A login or consent page: as [`page`], with the app's logo origin allowed for images.
pub fn app_page(status: StatusCode, app: &AppCard<'_>, template: &impl Template) -> Response {
    let mut response = page(status, template);
    if let Some(origin) = app.image_origin() {
        let csp = CSP.replace("img-src 'self'", &format!("img-src 'self' {origin}"));
        if let Ok(value) = HeaderValue::from_str(&csp) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// An error page from two catalog keys, for a request we cannot safely redirect back
/// (unknown client, unregistered redirect URI, a sign-in no longer in progress).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    ErrorPage::keys(title, message).respond(status)
}

/// RP-Initiated Logout's confirmation: which app asks, and the request carried as hidden
/// fields (already checked) into the CSRF-protected form.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub ui: Ui,
    pub client_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub csrf: &'a str,
    pub carried: Vec<(&'static str, String)>,
}

/// After a logout (or a logout declined): what happened.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    pub ui: Ui,
    pub title: String,
    pub message: String,
}

impl SignedOutPage {
    pub fn keys(title: &str, message: &str) -> SignedOutPage {
        let ui = Ui::current();
        SignedOutPage {
            title: ui.t(title),
            message: ui.t(message),
            ui,
        }
    }
}
