//! Settings: one typed tree from flags with `TESSERA_*` environment fallbacks.
use std::net::SocketAddr;

use clap::{Args, ValueEnum};
use url::Url;

use crate::types::SigningAlg;

/// What happens on the first login through an upstream provider for an unknown identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FederationPolicy {
    /// Create a local user from the verified upstream claims (and link by verified email).
    Provision,
    /// Link to an existing local user by verified email; never create one.
    LinkOnly,
    /// Only identities already linked may log in.
    Refuse,
}

/// Who may register a client at `/register` (RFC 7591).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RegistrationPolicy {
    /// Only with an initial access token from `tessera registration-token create`.
    Token,
    /// Anyone may register.
    Open,
    /// No dynamic registration; the endpoint is not advertised.
    Off,
}

/// Where the admin listener listens: an address, or nowhere (`off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdminListen(pub Option<SocketAddr>);

impl std::str::FromStr for AdminListen {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        if value.eq_ignore_ascii_case("off") {
            return Ok(AdminListen(None));
        }
        value.parse().map(|a| AdminListen(Some(a))).map_err(|_| {
            format!("expected an address such as 127.0.0.1:9090, or off; got {value:?}")
        })
    }
}

/// Where Tessera keeps its state: what every command needs (the server and the CLI).
#[derive(Clone, Debug, Args)]
pub struct StoreSettings {
    /// Database URL: sqlite://FILE (created if missing) or postgres://...
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://tessera.db",
        global = true,
        help_heading = "Shared options"
    )]
    pub database_url: String,
    /// Directory holding the signing keys (generated on first start).
    #[arg(
        long,
        env = "TESSERA_KEYS_DIR",
        default_value = "keys",
        global = true,
        help_heading = "Shared options"
    )]
    pub keys_dir: std::path::PathBuf,
    /// The master key sealing the keys and secrets in the database: 32 bytes in base64
    /// (default: the file `master.key` in the keys directory, generated on first start).
    /// Every instance of a deployment, and the CLI, needs the same one.
    #[arg(
        long,
        env = "TESSERA_MASTER_KEY",
        hide_env_values = true,
        global = true,
        help_heading = "Shared options"
    )]
    pub master_key: Option<crate::secrets::Secret>,
}

/// The issuer of a server run without settings.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";

/// Tessera's public issuer, for a command that prints URLs (the server has its own copy in
/// [`Settings`]).
#[derive(Clone, Debug, Args)]
pub struct IssuerSettings {
    /// Tessera's public issuer URL, used in the URLs this command prints.
    #[arg(long, env = "TESSERA_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: Url,
}

impl IssuerSettings {
    /// The issuer as it appears in `iss`: no trailing slash.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }
}

pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 600;
pub const DEFAULT_ID_TOKEN_TTL: i64 = 3600;
pub const DEFAULT_KEY_PUBLISH_AHEAD_SECONDS: u32 = 3600;

/// The server's settings: one typed tree, built by `tessera serve` from its flags (with
/// `TESSERA_*` environment fallbacks) and the [`StoreSettings`] every command shares.
#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Public issuer URL; must be https unless its host is loopback.
    #[arg(long, env = "TESSERA_ISSUER", default_value = DEFAULT_ISSUER)]
    pub issuer: Url,
    /// Address the server listens on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// From [`StoreSettings`], shared by every command.
    #[arg(skip)]
    pub database_url: String,
    /// From [`StoreSettings`], shared by every command.
    #[arg(skip)]
    pub keys_dir: std::path::PathBuf,
    /// Address of the admin listener serving /metrics, /healthz and /readyz (never the
    /// public one), or `off`.
    #[arg(long, env = "TESSERA_ADMIN_LISTEN", default_value = "127.0.0.1:9090")]
    pub admin_listen: AdminListen,
    /// Database connection pool size (default: 4 × cores, at least 8).
    #[arg(long, env = "TESSERA_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,
    /// Algorithm of JWT access tokens.
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_ALG", default_value = "ES256")]
    pub access_token_alg: SigningAlg,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_TTL", default_value_t = DEFAULT_ACCESS_TOKEN_TTL)]
    pub access_token_ttl: i64,
    /// `aud` of access tokens requested without `resource` (default: the issuer).
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_AUDIENCE")]
    pub access_token_audience: Option<String>,
    /// Resource indicators (RFC 8707) clients may request, comma-separated.
    #[arg(long, env = "TESSERA_RESOURCES", value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Name of the claim carrying the subject's roles (a JSON array of strings) when the
    /// `roles` scope is granted, e.g. `https://example.com/roles`.
    #[arg(long, env = "TESSERA_ROLES_CLAIM", default_value = "roles")]
    pub roles_claim: String,
    /// ID-token lifetime in seconds.
    #[arg(long, env = "TESSERA_ID_TOKEN_TTL", default_value_t = DEFAULT_ID_TOKEN_TTL)]
    pub id_token_ttl: i64,
    /// Authorization-code lifetime in seconds (at most 60).
    #[arg(long, env = "TESSERA_CODE_TTL", default_value_t = 60)]
    pub code_ttl: i64,
    /// Refresh-token idle lifetime in seconds.
    #[arg(long, env = "TESSERA_REFRESH_IDLE_SECONDS", default_value_t = 14 * 24 * 3600)]
    pub refresh_idle_seconds: i64,
    /// Refresh-token family absolute lifetime in seconds (with `offline_access`).
    #[arg(long, env = "TESSERA_REFRESH_ABSOLUTE_SECONDS", default_value_t = 90 * 24 * 3600)]
    pub refresh_absolute_seconds: i64,
    /// Window in which the same client may re-use a just-rotated refresh token (0 = strict).
    #[arg(long, env = "TESSERA_REFRESH_GRACE_SECONDS", default_value_t = 0)]
    pub refresh_grace_seconds: i64,
    /// Browser session lifetime in seconds (also the absolute lifetime of refresh tokens
    /// issued without `offline_access`).
    #[arg(long, env = "TESSERA_SESSION_SECONDS", default_value_t = 8 * 3600)]
    pub session_seconds: i64,
    /// Show the local password form on the login page.
    #[arg(long, env = "TESSERA_PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub password_login: bool,
    /// Where the login page's "Forgot your password?" link goes (none: no link).
    #[arg(long, env = "TESSERA_PASSWORD_RESET_URL")]
    pub password_reset_url: Option<Url>,
    /// The name shown at the top and in the title of every page.
    #[arg(long, env = "TESSERA_BRAND_NAME", default_value = "Tessera")]
    pub brand_name: String,
    /// A logo file (SVG, PNG, JPEG or WebP, at most 512 KiB) shown above every page.
    #[arg(long, env = "TESSERA_BRAND_LOGO")]
    pub brand_logo: Option<std::path::PathBuf>,
    /// The colour of buttons and links, as #rgb or #rrggbb; its text colour is derived.
    #[arg(long, env = "TESSERA_BRAND_COLOR")]
    pub brand_color: Option<String>,
    /// An extra stylesheet file, served after Tessera's own.
    #[arg(long, env = "TESSERA_BRAND_CSS")]
    pub brand_css: Option<std::path::PathBuf>,
    /// First login through an upstream provider for an unknown identity.
    #[arg(long, env = "TESSERA_FEDERATION_POLICY", default_value = "provision")]
    pub federation_policy: FederationPolicy,
    /// Dynamic client registration at /register: token (an initial access token is required), open, or off.
    #[arg(long, env = "TESSERA_REGISTRATION", default_value = "token")]
    pub registration: RegistrationPolicy,
    /// Most argon2 hashes computed at once (default: number of cores).
    #[arg(long, env = "TESSERA_PASSWORD_CONCURRENCY")]
    pub password_concurrency: Option<usize>,
    /// Most logins waiting for a password-hashing thread; beyond it a login is refused at
    /// once with 503 and `Retry-After`.
    #[arg(long, env = "TESSERA_PASSWORD_QUEUE", default_value_t = 64)]
    pub password_queue: usize,
    /// Failed attempts of one account from one address after which each further attempt
    /// waits (1 s, doubling) — on the login form and in client authentication.
    #[arg(long, env = "TESSERA_LOGIN_DELAY_AFTER", default_value_t = 5)]
    pub login_delay_after: u32,
    /// Failed attempts of one account from one address that lock that pair out.
    #[arg(long, env = "TESSERA_LOGIN_LOCK_AFTER", default_value_t = 20)]
    pub login_lock_after: u32,
    /// How long a lock lasts; also how long failures are remembered after the last one.
    #[arg(long, env = "TESSERA_LOGIN_LOCK_SECONDS", default_value_t = 900)]
    pub login_lock_seconds: i64,
    /// Longest delay, in seconds, for one account from one address or for one address.
    #[arg(long, env = "TESSERA_LOGIN_MAX_DELAY", default_value_t = 60)]
    pub login_max_delay: i64,
    /// Failed attempts from one address (any account) after which it waits.
    #[arg(long, env = "TESSERA_LOGIN_IP_DELAY_AFTER", default_value_t = 20)]
    pub login_ip_delay_after: u32,
    /// Failed attempts from one address (any account) that lock the address out.
    #[arg(long, env = "TESSERA_LOGIN_IP_LOCK_AFTER", default_value_t = 100)]
    pub login_ip_lock_after: u32,
    /// Failed attempts at one account (any address) after which it is slowed; never locked.
    #[arg(long, env = "TESSERA_LOGIN_ACCOUNT_DELAY_AFTER", default_value_t = 10)]
    pub login_account_delay_after: u32,
    /// Longest delay of one account under attack from many addresses: the most a real user
    /// waits per attempt.
    #[arg(long, env = "TESSERA_LOGIN_ACCOUNT_MAX_DELAY", default_value_t = 30)]
    pub login_account_max_delay: i64,
    /// Keep the brute-force counters in Redis (redis://host:port) instead of the database.
    #[arg(long, env = "TESSERA_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<crate::secrets::Secret>,
    /// Prefix of every Redis key Tessera writes.
    #[arg(long, env = "TESSERA_REDIS_PREFIX", default_value = "tessera:")]
    pub redis_prefix: String,
    /// Proxies whose `X-Forwarded-For` is believed (comma-separated addresses or CIDR blocks).
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::throttle::client_ip::parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Let back-channel logout and other callbacks reach loopback and private addresses
    /// (tests, on-premise deployments); refused by default against request forgery.
    #[arg(long, env = "TESSERA_ALLOW_PRIVATE_CALLBACKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_callbacks: bool,
    /// The master key (from [`StoreSettings`], shared by every command).
    #[arg(skip)]
    pub master_key: Option<crate::secrets::Secret>,
    /// Seconds a new signing key is published (as `next`) before it signs.
    #[arg(
        long,
        env = "TESSERA_KEY_PUBLISH_AHEAD_SECONDS",
        default_value_t = DEFAULT_KEY_PUBLISH_AHEAD_SECONDS
    )]
    pub key_publish_ahead_seconds: u32,
    /// Rotate each signing key automatically once it has signed for this many days.
    #[arg(long, env = "TESSERA_KEY_ROTATION_DAYS")]
    pub key_rotation_days: Option<u32>,
    /// Keep audit events this many days; older ones are purged hourly (0: keep forever).
    #[arg(long, env = "TESSERA_AUDIT_RETENTION_DAYS", default_value_t = 90)]
    pub audit_retention_days: u32,
}

impl Settings {
    /// Where this server keeps its state, as every command names it.
    pub fn store(&self) -> StoreSettings {
        StoreSettings {
            database_url: self.database_url.clone(),
            keys_dir: self.keys_dir.clone(),
            master_key: self.master_key.clone(),
        }
    }

    /// Refuses settings that would make the server unsafe or unusable.
    pub fn check(&self) -> Result<(), String> {
        if !crate::types::is_https_or_loopback(&self.issuer) {
            return Err(format!(
                "TESSERA_ISSUER must be an https URL (http is allowed only on a loopback host): got {}",
                self.issuer
            ));
        }
        if self.issuer.query().is_some() || self.issuer.fragment().is_some() {
            return Err("TESSERA_ISSUER must not have a query or fragment".into());
        }
        if !(1..=60).contains(&self.code_ttl) {
            return Err("TESSERA_CODE_TTL must be between 1 and 60 seconds".into());
        }
        for (name, value) in [
            ("TESSERA_ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("TESSERA_ID_TOKEN_TTL", self.id_token_ttl),
            ("TESSERA_REFRESH_IDLE_SECONDS", self.refresh_idle_seconds),
            (
                "TESSERA_REFRESH_ABSOLUTE_SECONDS",
                self.refresh_absolute_seconds,
            ),
            ("TESSERA_SESSION_SECONDS", self.session_seconds),
        ] {
            if value <= 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.login_lock_seconds <= 0
            || self.login_max_delay <= 0
            || self.login_account_max_delay <= 0
        {
            return Err(
                "TESSERA_LOGIN_LOCK_SECONDS, TESSERA_LOGIN_MAX_DELAY and TESSERA_LOGIN_ACCOUNT_MAX_DELAY must be positive".into(),
            );
        }
        if self.login_lock_after <= self.login_delay_after
            || self.login_ip_lock_after <= self.login_ip_delay_after
        {
            return Err("TESSERA_LOGIN_LOCK_AFTER (and _IP_LOCK_AFTER) must be above the matching _DELAY_AFTER".into());
        }
        if let Some(url) = &self.password_reset_url {
            if !crate::types::is_https_or_loopback(url) {
                return Err(format!(
                    "TESSERA_PASSWORD_RESET_URL must be an https URL (http only on a loopback host): got {url}"
                ));
            }
        }
        if self.brand_name.trim().is_empty() || self.brand_name.chars().count() > 60 {
            return Err("TESSERA_BRAND_NAME must be 1 to 60 characters".into());
        }
        if let Some(color) = &self.brand_color {
            crate::views::brand::Palette::for_color(color)?;
        }
        if !(0..=60).contains(&self.refresh_grace_seconds) {
            return Err("TESSERA_REFRESH_GRACE_SECONDS must be between 0 and 60".into());
        }
        crate::authz::check_roles_claim(&self.roles_claim)?;
        Ok(())
    }

    /// The issuer as it appears in `iss`: no trailing slash.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// An absolute URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer_str(), path)
    }

    pub fn https(&self) -> bool {
        self.issuer.scheme() == "https"
    }

    /// The brute-force policy these settings describe.
    pub fn throttle_policy(&self) -> crate::throttle::policy::Policy {
        use crate::throttle::policy::{Limits, Policy};
        Policy {
            pair: Limits {
                delay_after: self.login_delay_after,
                lock_after: Some(self.login_lock_after),
                max_delay: self.login_max_delay,
            },
            address: Limits {
                delay_after: self.login_ip_delay_after,
                lock_after: Some(self.login_ip_lock_after),
                max_delay: self.login_max_delay,
            },
            account: Limits {
                delay_after: self.login_account_delay_after,
                lock_after: None,
                max_delay: self.login_account_max_delay,
            },
            lock_seconds: self.login_lock_seconds,
        }
    }

    pub fn default_audience(&self) -> String {
        self.access_token_audience
            .clone()
            .unwrap_or_else(|| self.issuer_str().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::AdminListen;

    #[test]
    fn the_admin_listener_is_an_address_or_off() {
        assert_eq!("off".parse(), Ok(AdminListen(None)));
        assert_eq!("OFF".parse(), Ok(AdminListen(None)));
        assert_eq!(
            "127.0.0.1:9090".parse(),
            Ok(AdminListen(Some(([127, 0, 0, 1], 9090).into())))
        );
        let refused = "localhost".parse::<AdminListen>();
        assert!(refused.is_err_and(|e| e.contains("or off")));
    }
}
