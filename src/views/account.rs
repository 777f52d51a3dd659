//! The account page's template and its lines (apps, sessions, linked providers).
use askama::Template;

use super::{ScopeLine, Ui};
use crate::oauth::interaction::session::Flash;

/// A connected app on the account page: what it may do and since when.
pub struct AppLine {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<ScopeLine>,
    pub granted: String,
}

/// A signed-in browser on the account page (`ip` and `user_agent` already say "unknown"
/// in the page's language when not known).
pub struct SessionLine {
    pub sid: String,
    pub since: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// An upstream identity linked to the account.
pub struct IdentityLine {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub since: String,
}

/// One of the user's API keys (never the key: its prefix).
pub struct ApiKeyLine {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub created: String,
    /// Empty: it never expires.
    pub expires: String,
    /// Empty: never used (or not yet written: last use is recorded in batches).
    pub last_used: String,
}

/// The page right after a key is made: the key, shown this once.
#[derive(Template)]
#[template(path = "api_key_created.html")]
pub struct ApiKeyCreatedPage<'a> {
    pub ui: Ui,
    pub name: &'a str,
    pub key: &'a str,
    pub expires: String,
}

/// The signed-in user's account page: profile, apps, sessions, password, linked identities.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub ui: Ui,
    pub csrf: &'a str,
    /// What the last form did (already in the page's language).
    pub flash: Option<Flash>,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
    pub name: &'a str,
    pub apps: Vec<AppLine>,
    pub sessions: Vec<SessionLine>,
    pub has_password: bool,
    pub identities: Vec<IdentityLine>,
    pub api_keys: Vec<ApiKeyLine>,
    /// The lifetimes the new-key form offers, in days.
    pub lifetimes: &'static [i64],
}
