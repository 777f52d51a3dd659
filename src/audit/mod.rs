//! The audit log: one [`AuditEvent`] per security-relevant action (sign-ins, tokens issued,
//! revocations, client and key changes, logouts), recorded through [`record`]. Events go to
//! the log (target `audit`) and to the `audit_events` table through a bounded channel and a
//! background writer (`writer.rs`), so recording costs a request no database write and never
//! blocks it. An event holds ids only — a token's `jti` or family id, a key's `kid` — and its
//! `reason` is a fixed word, so no password, secret, code or token can reach the log or the
//! table through it.
mod meta;
mod writer;

pub use meta::{EventMeta, RequestMeta};
pub use writer::{purge, spawn_purge, Audit, CHANNEL_CAPACITY};

use crate::state::AppState;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    LoginSuccess,
    LoginFailure,
    /// An account or address locked after repeated failures (recorded by the throttle).
    Lockout,
    FederationLogin,
    ConsentGiven,
    ConsentWithdrawn,
    TokenIssued,
    RefreshTokenReuse,
    Revocation,
    ClientRegistered,
    ClientUpdated,
    ClientDeleted,
    KeyRotated,
    Logout,
    /// A user changed their password (the account page).
    PasswordChanged,
    /// A user changed their profile (the account page).
    ProfileUpdated,
    /// A user unlinked an upstream identity from their account.
    IdentityUnlinked,
    /// A role granted or revoked, a group or organization membership changed, a client
    /// restricted to an organization (by the CLI).
    AuthorizationChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    /// An API key exchanged for an access token (RFC 8693).
    ApiKeyExchanged,
    /// A resource registered, changed or removed (`reason` says which).
    ResourceChanged,
}

impl Kind {
    /// The name stored in `audit_events.kind` and logged as `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LoginSuccess => "login_success",
            Kind::LoginFailure => "login_failure",
            Kind::Lockout => "lockout",
            Kind::FederationLogin => "federation_login",
            Kind::ConsentGiven => "consent_given",
            Kind::ConsentWithdrawn => "consent_withdrawn",
            Kind::TokenIssued => "token_issued",
            Kind::RefreshTokenReuse => "refresh_token_reuse",
            Kind::Revocation => "revocation",
            Kind::ClientRegistered => "client_registered",
            Kind::ClientUpdated => "client_updated",
            Kind::ClientDeleted => "client_deleted",
            Kind::KeyRotated => "key_rotated",
            Kind::Logout => "logout",
            Kind::PasswordChanged => "password_changed",
            Kind::ProfileUpdated => "profile_updated",
            Kind::IdentityUnlinked => "identity_unlinked",
            Kind::AuthorizationChanged => "authorization_changed",
            Kind::ApiKeyCreated => "api_key_created",
            Kind::ApiKeyRevoked => "api_key_revoked",
            Kind::ApiKeyExchanged => "api_key_exchanged",
            Kind::ResourceChanged => "resource_changed",
        }
    }
}

/// What an event is about, by id. There is deliberately no variant for a token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An access token's `jti`.
    Jti(String),
    /// A refresh-token family (the grant), by id.
    Family(String),
    /// A signing key's `kid`.
    Kid(String),
    /// A login session (OIDC `sid`).
    Sid(String),
    /// An upstream OpenID provider, by its configured name.
    Upstream(String),
    /// A role grant: `NAME`, `NAME@ORG_ID` within an organization, then ` group:GROUP` when
    /// the holder is a group (a user or client holder is the event's user or client).
    Role(String),
    /// A group, by name.
    Group(String),
    /// An organization, by id.
    Organization(String),
    /// An API key, by its public id (never the key).
    ApiKey(String),
    /// A protected resource, by its URI.
    Resource(String),
    /// How many things an action touched (`tessera user sign-out`: sessions ended).
    Count(u64),
}

impl Target {
    /// The column's prefix and the id, copied into the event (short ids stay inline: an
    /// issued token's event holds no heap memory of its own).
    fn into_parts(self) -> (&'static str, Text) {
        let (prefix, value) = match self {
            Target::Jti(id) => ("jti:", id),
            Target::Family(id) => ("family:", id),
            Target::Kid(id) => ("kid:", id),
            Target::Sid(id) => ("sid:", id),
            Target::Upstream(name) => ("upstream:", name),
            Target::Role(name) => ("role:", name),
            Target::Group(name) => ("group:", name),
            Target::Organization(id) => ("org:", id),
            Target::ApiKey(id) => ("api_key:", id),
            Target::Resource(uri) => ("resource:", uri),
            Target::Count(n) => return ("count:", compact_str::format_compact!("{n}")),
        };
        (prefix, Text::new(&value))
    }
}

/// An id or name as an event holds it: up to 24 bytes inline (client ids, `jti`s, request
/// ids and addresses all fit), so recording an event allocates nothing, and nothing an
/// event holds is freed by the writer's thread in a burst with thousands of others.
pub type Text = compact_str::CompactString;

/// One audit event. Build it with [`AuditEvent::new`] and the setters; the time and the
/// request's IP, user agent and request id are filled in by [`record`].
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub kind: Kind,
    pub at: i64,
    pub client_id: Option<Text>,
    pub user_id: Option<Text>,
    pub username: Option<Text>,
    pub reason: Option<&'static str>,
    pub grant_type: Option<&'static str>,
    /// The target's column prefix (`jti:`) and its id.
    pub target: Option<(&'static str, Text)>,
    pub meta: EventMeta,
}

/// Longest id or name kept; longer input (only an attacker sends it) is cut.
const MAX_FIELD: usize = 256;

impl AuditEvent {
    pub fn new(kind: Kind) -> AuditEvent {
        AuditEvent {
            kind,
            at: 0,
            client_id: None,
            user_id: None,
            username: None,
            reason: None,
            grant_type: None,
            target: None,
            meta: EventMeta::default(),
        }
    }

    /// The client the event is about; an empty id (the account page's sign-in has no
    /// client) is none.
    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = (!client_id.is_empty()).then(|| clean(client_id));
        self
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(clean(user_id));
        self
    }

    /// The name of an existing account. A name typed at the login form that matches no
    /// account goes through [`AuditEvent::attempted_username`] instead.
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(clean(username));
        self
    }

    /// A name typed at the login form that matches no user: people type their password
    /// into the username field, so it is kept only as a short hash (`unknown:` + 16
    /// characters of its SHA-256), which still shows repeated attempts on one name.
    pub fn attempted_username(mut self, typed: &str) -> Self {
        let hash = crate::secrets::token_hash(typed);
        self.username = Some(compact_str::format_compact!("unknown:{}", &hash[..16]));
        self
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn grant_type(mut self, grant_type: &'static str) -> Self {
        self.grant_type = Some(grant_type);
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target.into_parts());
        self
    }

    /// The lockout that this (failed) attempt started, of the same user or client.
    pub fn lockout(mut self, reason: &'static str) -> Self {
        self.kind = Kind::Lockout;
        self.reason = Some(reason);
        self
    }
}

/// Ids and names as recorded: at most `MAX_FIELD` characters, control characters replaced
/// (a plain-text log line stays one line).
fn clean(value: &str) -> Text {
    // The usual case, checked by bytes: short printable ASCII is kept as it is.
    if value.len() <= MAX_FIELD && value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Text::new(value);
    }
    value
        .chars()
        .take(MAX_FIELD)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Records `event` with the current time and the request it happens in (if any): never
/// blocks and never writes to the database on the caller's path.
pub fn record(state: &AppState, event: AuditEvent) {
    state.audit.record(event);
}

/// Records `event` from a CLI command and waits until it is logged and stored (the process
/// is about to exit).
pub async fn record_now(db: &crate::storage::Db, event: AuditEvent) {
    let audit = Audit::start(db.clone(), std::sync::Arc::new(crate::clock::SystemClock));
    audit.record(event);
    audit.flush().await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_username_is_kept_only_as_a_hash() {
        let event = AuditEvent::new(Kind::LoginFailure).attempted_username("hunter2-password");
        let name = event.username.unwrap();
        assert!(name.starts_with("unknown:"));
        assert!(!name.contains("hunter2"));
        assert_eq!(name.len(), "unknown:".len() + 16);
    }

    #[test]
    fn fields_are_one_line_and_bounded() {
        let event = AuditEvent::new(Kind::LoginSuccess).client(&format!("a\nb{}", "x".repeat(999)));
        let client = event.client_id.unwrap();
        assert!(!client.contains('\n'));
        assert_eq!(client.chars().count(), MAX_FIELD);
    }

    #[test]
    fn clean_keeps_printable_ascii_and_replaces_the_rest() {
        assert_eq!(clean("client-1 ~x"), "client-1 ~x");
        assert_eq!(clean("a\u{7f}b\tc"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(clean("müller"), "müller");
        let long = "y".repeat(MAX_FIELD + 1);
        assert_eq!(clean(&long), long[..MAX_FIELD]);
        // Counted in characters, not bytes.
        assert_eq!(clean(&"ü".repeat(MAX_FIELD)).chars().count(), MAX_FIELD);
    }
}
