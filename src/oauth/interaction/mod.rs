//! The interaction core: the authorization request waiting in the browser while the user
//! logs in (with a password or upstream) and consents, and the one decision of what happens
//! next. The authorize endpoint, the login and consent pages and the federation callback all
//! hand their request to [`proceed`] and render the [`Next`] it decides; none of them knows
//! the others' paths or rules.
//!
//! - [`decide`] (decision.rs): pure, no I/O: the prompt, max_age, organization and consent
//!   rules.
//! - [`session`]: what the browser session holds (login, CSRF token, pending requests).
//! - [`proceed`] (respond.rs): gathers the login state, decides, and renders the outcome.
mod decision;
mod respond;
pub mod session;

use serde::{Deserialize, Serialize};

pub use decision::{decide, LoginState, Next, OrgState};
pub use respond::{expired, fail, proceed, read_form, redirect, redirect_error, request_id};

/// Route paths, defined once: the router mounts them and every redirect is built from them.
pub mod paths {
    pub const AUTHORIZE: &str = "/authorize";
    pub const LOGIN: &str = "/login";
    pub const CONSENT: &str = "/consent";
    /// Choosing the organization a sign-in is for.
    pub const ORGANIZATION: &str = "/organization";
    /// OIDC RP-Initiated Logout 1.0 `end_session_endpoint`.
    pub const LOGOUT: &str = "/logout";
    /// The signed-in user's own page: apps, sessions, password, linked identities.
    pub const ACCOUNT: &str = "/account";
    /// Starts a login at the upstream provider named in the path.
    pub const UPSTREAM_LOGIN: &str = "/login/upstream/{name}";
}

/// The login page for a pending request.
pub fn login_url(request_id: &str) -> String {
    format!("{}?request_id={request_id}", paths::LOGIN)
}

/// The consent page for a pending request.
pub fn consent_url(request_id: &str) -> String {
    format!("{}?request_id={request_id}", paths::CONSENT)
}

/// The organization selection page for a pending request.
pub fn organization_url(request_id: &str) -> String {
    format!("{}?request_id={request_id}", paths::ORGANIZATION)
}

/// The button that starts a login through upstream `name` for a pending request (`name` is a
/// slug checked at registration, safe in a path).
pub fn upstream_login_url(name: &str, request_id: &str) -> String {
    format!(
        "{}?request_id={request_id}",
        paths::UPSTREAM_LOGIN.replace("{name}", name)
    )
}

/// OIDC Core §3.1.2.1 `prompt` values Tessera acts on (`select_account` is accepted and has
/// no effect: a session holds one account).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request, kept in the session while the user logs in or consents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// OIDC Core §3.1.2.1 `ui_locales`, as sent: the language of the pages that follow.
    #[serde(default)]
    pub ui_locales: Option<String>,
    pub created_at: i64,
    /// Set once the user has logged in during this request (satisfies prompt=login, max_age).
    pub login_done: bool,
    /// Set once the user has consented during this request (satisfies prompt=consent).
    pub consent_done: bool,
    /// Not an app's request: the user opened the account page and signs in to see it (no
    /// client, no redirect URI; after login the browser goes back to the account page).
    #[serde(default)]
    pub for_account: bool,
    /// The organization the tokens are to speak for: the request's `organization` parameter
    /// (an id or a slug, as given), or the one the user picked on the selection page.
    #[serde(default)]
    pub organization: Option<String>,
}

impl AuthRequest {
    /// The sign-in the account page asks for when nobody is logged in.
    pub fn account_sign_in(now: i64) -> AuthRequest {
        AuthRequest {
            client_id: String::new(),
            redirect_uri: String::new(),
            scope: String::new(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            ui_locales: None,
            created_at: now,
            login_done: false,
            consent_done: false,
            for_account: true,
            organization: None,
        }
    }
}
