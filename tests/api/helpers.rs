#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
//! `spawn_app` and the test user agent.
use std::sync::Arc;

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tessera::clients::{register, ClientMetadata};
use tessera::clock::{Clock, FixedClock, SystemClock};
use tessera::config::Settings;
use tessera::state::AppState;
use tessera::storage::users;
use tessera::types::{AuthMethod, SigningAlg};

/// The relying-party client as discovery configures it.
pub type RpClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "http://127.0.0.1:1/callback";

pub struct TestApp {
    pub base: String,
    /// The admin listener (metrics, health), served alongside the public one.
    pub admin_base: String,
    pub state: AppState,
    pub clock: FixedClock,
    pub settings: Settings,
    _dir: tempfile::TempDir,
}

/// Settings as the CLI would build them with no flags, with the database and keys in `dir`.
pub async fn test_settings(dir: &std::path::Path, port: u16) -> Settings {
    let mut settings = tessera::cli::Cli::parse_args(["tessera"])
        .unwrap()
        .server_settings()
        .unwrap();
    settings.issuer = format!("http://127.0.0.1:{port}").parse().unwrap();
    settings.listen = format!("127.0.0.1:{port}").parse().unwrap();
    settings.keys_dir = dir.join("keys");
    settings.database_url = fresh_database_url(dir).await;
    settings
}

/// A fresh database: its own PostgreSQL database when `TESSERA_TEST_POSTGRES_URL` is set,
/// else a new SQLite file.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TESSERA_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!(
                "tessera_test_{}",
                tessera::secrets::random_token(9)
                    .to_lowercase()
                    .replace(['-', '_'], "x")
            );
            let admin = sea_orm::Database::connect(&base)
                .await
                .expect("connect to TESSERA_TEST_POSTGRES_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.ok();
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        _ => format!("sqlite://{}", dir.join("tessera.db").display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(configure, None).await
}

/// How `spawn_served` runs a server: on a database URL of the test's choosing (None: a fresh
/// one), with extra routes behind every layer, until `shutdown` completes.
pub struct Serving {
    pub database_url: Option<String>,
    pub extra: axum::Router<AppState>,
    pub shutdown: futures::future::BoxFuture<'static, ()>,
}

impl Default for Serving {
    fn default() -> Self {
        Serving {
            database_url: None,
            extra: axum::Router::new(),
            shutdown: Box::pin(std::future::pending()),
        }
    }
}

/// An app served as `Serving` says; the handle ends when the server has drained.
pub async fn spawn_served(serving: Serving) -> (TestApp, tokio::task::JoinHandle<()>) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = test_settings(dir.path(), port).await;
    if let Some(url) = serving.database_url {
        settings.database_url = url;
    }
    let clock = FixedClock::default();
    clock.advance(SystemClock.now());
    let state = tessera::server::build_state(settings.clone(), Arc::new(clock.clone()))
        .await
        .unwrap();
    let app = tessera::app::router_with(state.clone(), serving.extra);
    let server = tokio::spawn(tessera::server::serve_router(
        app,
        listener,
        serving.shutdown,
    ));
    let app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        admin_base: serve_admin(&state).await,
        state,
        clock,
        settings,
        _dir: dir,
    };
    (app, server)
}

/// A second instance on the same database and behind the same issuer URL (as behind a load
/// balancer), with its own, empty keys directory and the deployment's master key (as an
/// operator gives it to every instance, here through `TESSERA_MASTER_KEY`).
pub async fn spawn_app_sharing(other: &TestApp) -> TestApp {
    let issuer = other.settings.issuer.clone();
    let master = other.master_key();
    spawn(
        move |s| {
            s.issuer = issuer;
            s.master_key = Some(tessera::secrets::Secret(master));
        },
        Some(other.settings.database_url.clone()),
    )
    .await
}

async fn spawn(configure: impl FnOnce(&mut Settings), database_url: Option<String>) -> TestApp {
    crate::logs::init();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut settings = test_settings(dir.path(), port).await;
    if let Some(url) = database_url {
        settings.database_url = url;
    }
    configure(&mut settings);
    let clock = FixedClock::default();
    clock.advance(SystemClock.now());
    let state = tessera::server::build_state(settings.clone(), Arc::new(clock.clone()))
        .await
        .unwrap();
    let app = tessera::app::router(state.clone());
    tokio::spawn(tessera::server::serve_router(
        app,
        listener,
        std::future::pending(),
    ));
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        admin_base: serve_admin(&state).await,
        state,
        clock,
        settings,
        _dir: dir,
    }
}

/// Serves the admin router of `state` on a port of its own, as `tessera serve` does.
async fn serve_admin(state: &AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(tessera::server::serve_router(
        tessera::admin::router(state.clone()),
        listener,
        std::future::pending(),
    ));
    format!("http://127.0.0.1:{port}")
}

pub struct Registered {
    pub client_id: String,
    pub secret: Option<String>,
}

/// What most tests register: a confidential code + refresh client.
pub fn spec(name: &str) -> ClientMetadata {
    ClientMetadata {
        name: name.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: SigningAlg::Rs256,
        ..ClientMetadata::default()
    }
}

impl TestApp {
    /// The master key this instance uses (base64), for other instances and the CLI.
    pub fn master_key(&self) -> String {
        match &self.settings.master_key {
            Some(key) => key.expose().to_string(),
            None => std::fs::read_to_string(self.settings.keys_dir.join("master.key"))
                .unwrap()
                .trim()
                .to_string(),
        }
    }

    pub async fn add_user(&self, username: &str) -> users::User {
        let hash =
            tessera::accounts::password::hash_blocking(&tessera::secrets::Secret(PASSWORD.into()))
                .unwrap();
        users::insert(
            &self.state.db,
            users::NewUser {
                username: username.into(),
                email: Some(format!("{username}@example.com")),
                email_verified: true,
                name: Some(format!("{username} Example")),
                password_hash: Some(hash),
            },
            self.clock.now(),
        )
        .await
        .unwrap()
    }

    pub async fn add_client(&self, spec: ClientMetadata) -> Registered {
        let (client, secret) = register(
            &self.state.db,
            &self.state.keys.client_secret_key,
            spec,
            self.clock.now(),
        )
        .await
        .unwrap();
        Registered {
            client_id: client.client_id,
            secret,
        }
    }

    pub async fn add_public_client(&self) -> Registered {
        let mut s = spec("Public app");
        s.public = true;
        s.auth_method = Some(AuthMethod::None);
        self.add_client(s).await
    }

    /// An authorization request for `client` at this instance (code flow, our redirect URI).
    pub fn authorize_url(&self, client_id: &str, scope: &str) -> url::Url {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope);
        url
    }

    /// Redeems an authorization code at the token endpoint with HTTP Basic authentication.
    pub async fn redeem_code(&self, client: &Registered, code: &str) -> reqwest::Response {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        self.post_basic("/token", client, &form).await
    }

    /// A URL on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin_base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The real relying-party library, configured by discovery.
    pub async fn oidc_client(&self, registered: &Registered) -> RpClient {
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(self.base.clone()).unwrap(),
            &http(),
        )
        .await
        .expect("discovery");
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(registered.client_id.clone()),
            registered.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap())
    }

    /// The status of `GET /userinfo` with `access_token` as the bearer token.
    pub async fn userinfo_status(&self, access_token: &str) -> StatusCode {
        http()
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// POSTs a form to one of our endpoints with HTTP Basic client authentication.
    pub async fn post_basic(
        &self,
        path: &str,
        client: &Registered,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        http()
            .post(self.url(path))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// An HTTP client that does not follow redirects (the tests look at every Location).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// A browser: keeps cookies, follows our pages, fills the login and consent forms.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

/// Where a browser journey ended.
#[derive(Debug)]
pub enum Outcome {
    /// Sent to the client's redirect URI with these query parameters.
    Redirected(url::Url),
    /// Stopped on one of our pages with this status and HTML.
    Page(u16, String),
}

impl Outcome {
    pub fn param(&self, name: &str) -> Option<String> {
        match self {
            Outcome::Redirected(url) => url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned()),
            Outcome::Page(..) => None,
        }
    }
    pub fn code(&self) -> String {
        self.param("code")
            .unwrap_or_else(|| panic!("no code in {self:?}"))
    }
}

pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_string)
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            base: app.base.clone(),
        }
    }

    /// Opens `url` and follows redirects within our server; on the login page submits
    /// `login` (if given) and on the consent page answers `decision`.
    pub async fn journey(&self, url: &str, login: Option<(&str, &str)>, decision: &str) -> Outcome {
        let login = login.map(|(username, password)| LoginAt {
            origin: &self.base,
            username,
            password,
        });
        self.journey_across(url, &[&self.base], login, decision)
            .await
    }
}

pub fn json_error(body: &serde_json::Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

/// Credentials for the login form of one server in `Browser::journey_across`.
pub struct LoginAt<'a> {
    /// The server's origin, such as `http://localhost:4321`.
    pub origin: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

impl Browser {
    /// Like `journey`, across several servers (a login through an upstream provider): follows
    /// redirects within any of `origins` (relative locations resolve against the current
    /// page), fills the login form of `login.origin` once, and answers every consent page
    /// with `decision`. Stops at a redirect that leaves `origins`, or at any other page.
    pub async fn journey_across(
        &self,
        url: &str,
        origins: &[&str],
        login: Option<LoginAt<'_>>,
        decision: &str,
    ) -> Outcome {
        let allowed: Vec<url::Origin> = origins
            .iter()
            .map(|o| url::Url::parse(o).unwrap().origin())
            .collect();
        let login_origin = login
            .as_ref()
            .map(|l| url::Url::parse(l.origin).unwrap().origin());
        let mut logged_in = false;
        let mut response = self.client.get(url).send().await.unwrap();
        for _ in 0..20 {
            let status = response.status().as_u16();
            let page_url = response.url().clone();
            if let Some(location) = response.headers().get("location") {
                let next = page_url.join(location.to_str().unwrap()).unwrap();
                if !allowed.contains(&next.origin()) {
                    return Outcome::Redirected(next);
                }
                response = self.client.get(next).send().await.unwrap();
                continue;
            }
            let html = response.text().await.unwrap();
            if status != 200 {
                return Outcome::Page(status, html);
            }
            let csrf = hidden_input(&html, "csrf_token");
            let request_id = hidden_input(&html, "request_id");
            let here = Some(page_url.origin());
            match (page_url.path(), csrf, request_id, &login) {
                ("/login", Some(csrf), Some(request_id), Some(login))
                    if !logged_in && here == login_origin =>
                {
                    logged_in = true;
                    response = self
                        .client
                        .post(page_url.join("/login").unwrap())
                        .form(&[
                            ("csrf_token", csrf.as_str()),
                            ("request_id", &request_id),
                            ("username", login.username),
                            ("password", login.password),
                        ])
                        .send()
                        .await
                        .unwrap();
                }
                ("/consent", Some(csrf), Some(request_id), _) if !decision.is_empty() => {
                    response = self
                        .client
                        .post(page_url.join("/consent").unwrap())
                        .form(&[
                            ("csrf_token", csrf.as_str()),
                            ("request_id", &request_id),
                            ("decision", decision),
                        ])
                        .send()
                        .await
                        .unwrap();
                }
                _ => return Outcome::Page(status, html),
            }
        }
        panic!("too many redirects");
    }
}

/// GETs `url` and parses the JSON body.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: impl reqwest::IntoUrl) -> T {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

/// `grant_type=refresh_token` as `client` (Basic), optionally narrowing the scope: the status
/// and the JSON body.
pub async fn refresh(
    app: &TestApp,
    client: &Registered,
    token: &str,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = app.post_basic("/token", client, &form).await;
    (response.status(), response.json().await.unwrap())
}

/// A `private_key_jwt` client assertion (RFC 7523) for `/token`, signed with `pair` under `kid`.
pub fn client_assertion(
    app: &TestApp,
    pair: &josekit::jwk::alg::ec::EcKeyPair,
    kid: &str,
    client_id: &str,
    jti: &str,
) -> String {
    use josekit::jwk::KeyPair;
    let now = tessera::clock::Clock::now(&app.clock);
    let mut payload = josekit::jwt::JwtPayload::new();
    payload.set_issuer(client_id);
    payload.set_subject(client_id);
    payload.set_audience(vec![app.url("/token")]);
    payload.set_jwt_id(jti);
    payload
        .set_expires_at(&(std::time::UNIX_EPOCH + std::time::Duration::from_secs(now as u64 + 60)));
    let mut header = josekit::jws::JwsHeader::new();
    header.set_key_id(kid);
    let signer = josekit::jws::ES256
        .signer_from_jwk(&pair.to_jwk_private_key())
        .unwrap();
    josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
}

/// The public half of `pair` as a one-key JWK set, under `kid`.
pub fn public_jwks(pair: &josekit::jwk::alg::ec::EcKeyPair, kid: &str) -> String {
    use josekit::jwk::KeyPair;
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    serde_json::json!({ "keys": [serde_json::Value::Object(public.as_ref().clone())] }).to_string()
}
