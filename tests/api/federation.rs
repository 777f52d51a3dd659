#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Login through an upstream OpenID provider, end to end without the internet: a second
//! Tessera instance in this process plays the upstream (a real provider, not a mock). The
//! upstream runs on `localhost` and ours on `127.0.0.1`, so the two session cookies do not
//! collide (cookies ignore ports).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope,
    TokenResponse as _,
};
use reqwest::StatusCode;
use tessera::clock::Clock;
use tessera::config::{FederationPolicy, Settings};
use tessera::federation::upstream::{register, Preset, UpstreamSpec};
use tessera::federation::CALLBACK_PATH;
use tessera::storage::{upstreams, users};

use crate::helpers::*;

mod accounts;
mod audit;
mod cli;
mod failures;
mod keys;
mod presets;

/// Our server (`down`), the upstream Tessera (`up`) with a client registered for us, and an
/// app registered at our server.
struct Setup {
    down: TestApp,
    up: TestApp,
    up_issuer: String,
    up_client: Registered,
    app: Registered,
}

async fn setup(configure: impl FnOnce(&mut Settings)) -> Setup {
    let down = spawn_app_with(configure).await;
    let up = spawn_upstream(|_| {}).await;
    let up_issuer = up.settings.issuer_str().to_string();
    let up_client = up.add_client(upstream_client_spec(&down)).await;
    let app = down.add_client(spec("Photo app")).await;
    Setup {
        down,
        up,
        up_issuer,
        up_client,
        app,
    }
}

/// A Tessera on `localhost` (see the module comment).
async fn spawn_upstream(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.issuer.set_host(Some("localhost")).unwrap();
        configure(s);
    })
    .await
}

/// What we register at the upstream: a confidential client sending codes to our callback.
fn upstream_client_spec(down: &TestApp) -> tessera::clients::ClientMetadata {
    let mut s = spec("Tessera downstream");
    s.redirect_uris = vec![format!("{}{CALLBACK_PATH}", down.base)];
    s
}

fn generic(name: &str, issuer: &str, client: &Registered) -> UpstreamSpec {
    UpstreamSpec {
        name: name.into(),
        preset: None,
        issuer: Some(issuer.into()),
        client_id: client.client_id.clone(),
        client_secret: client.secret.clone().unwrap(),
        scopes: vec![],
        hosted_domain: None,
    }
}

async fn add_upstream(down: &TestApp, spec: UpstreamSpec) {
    register(
        &down.state.db,
        &down.state.keys.master(),
        spec,
        down.clock.now(),
    )
    .await
    .unwrap();
}

impl Setup {
    async fn add_generic(&self) {
        add_upstream(
            &self.down,
            generic("corp", &self.up_issuer, &self.up_client),
        )
        .await;
    }

    fn login_at<'a>(&'a self, username: &'a str) -> Option<LoginAt<'a>> {
        Some(LoginAt {
            origin: &self.up_issuer,
            username,
            password: PASSWORD,
        })
    }

    fn origins(&self) -> [&str; 2] {
        [&self.down.base, &self.up_issuer]
    }
}

/// The app's authorization request (PKCE, state, nonce), as the `openidconnect` RP builds it.
struct AppRequest {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

async fn app_request(s: &Setup) -> AppRequest {
    let client = s.down.oidc_client(&s.app).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    AppRequest {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// Opens the app's request and returns our login page and the upstream button's URL.
async fn upstream_button(s: &Setup, browser: &Browser, request: &AppRequest) -> (String, String) {
    let Outcome::Page(200, html) = browser.journey(&request.url, None, "").await else {
        panic!("expected the login page");
    };
    let doc = scraper::Html::parse_document(&html);
    let selector = scraper::Selector::parse(r#"a.button[href^="/login/upstream/"]"#).unwrap();
    let href = doc
        .select(&selector)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("an upstream button")
        .to_string();
    (html, s.down.url(&href))
}

/// A generic upstream with bob on it, and a browser on our login page for a fresh app request:
/// the browser, the request and the URL of the upstream's button.
async fn bob_at_the_upstream_button(s: &Setup) -> (Browser, AppRequest, String) {
    s.add_generic().await;
    s.up.add_user("bob").await;
    let browser = Browser::new(&s.down);
    let request = app_request(s).await;
    let (_, button) = upstream_button(s, &browser, &request).await;
    (browser, request, button)
}

/// App → our login page → upstream button → upstream login and consent → our callback →
/// our consent → back to the app.
async fn federated_login(s: &Setup, browser: &Browser, username: &str) -> (AppRequest, Outcome) {
    let request = app_request(s).await;
    let (_, button) = upstream_button(s, browser, &request).await;
    let outcome = browser
        .journey_across(&button, &s.origins(), s.login_at(username), "allow")
        .await;
    (request, outcome)
}

/// Exchanges the code as the app, verifies the ID token with the `openidconnect` RP, and
/// returns its claims.
async fn app_tokens(s: &Setup, request: AppRequest, outcome: &Outcome) -> serde_json::Value {
    assert_eq!(
        outcome.param("state").as_deref(),
        Some(request.state.secret().as_str()),
        "{outcome:?}"
    );
    let client = s.down.oidc_client(&s.app).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(outcome.code()))
        .unwrap()
        .set_pkce_verifier(request.verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id_token");
    id_token
        .claims(&client.id_token_verifier(), &request.nonce)
        .expect("a valid ID token");
    jwt_payload(&id_token.to_string())
}

fn jwt_payload(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn page(outcome: &Outcome) -> (u16, &str) {
    match outcome {
        Outcome::Page(status, html) => (*status, html.as_str()),
        Outcome::Redirected(url) => panic!("expected a page, was sent to {url}"),
    }
}

/// Whether the browser has a login session at our server (prompt=none answers without a
/// page either way).
async fn logged_in(s: &Setup, browser: &Browser) -> bool {
    let request = app_request(s).await;
    let outcome = browser
        .journey(&format!("{}&prompt=none", request.url), None, "")
        .await;
    match outcome.param("error").as_deref() {
        None => true,
        Some("login_required") => false,
        Some(other) => panic!("unexpected {other}"),
    }
}

async fn user_count(app: &TestApp) -> usize {
    users::list(&app.state.db).await.unwrap().len()
}

async fn add_user_with_email(
    app: &TestApp,
    username: &str,
    email: &str,
    email_verified: bool,
) -> users::User {
    let hash =
        tessera::accounts::password::hash_blocking(&tessera::secrets::Secret(PASSWORD.into()))
            .unwrap();
    users::insert(
        &app.state.db,
        users::NewUser {
            username: username.into(),
            email: Some(email.into()),
            email_verified,
            name: None,
            password_hash: Some(hash),
        },
        app.clock.now(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn first_login_provisions_a_user_and_the_app_gets_fed_tokens() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let up_bob = s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;

    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(claims["idp"], s.up_issuer.as_str());
    let local = users::find_by_username(&s.down.state.db, "bob")
        .await
        .unwrap()
        .expect("a provisioned user");
    assert_eq!(claims["sub"], local.id.as_str());
    assert_eq!(claims["email"], "bob@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(local.password_hash.is_none(), "no password");
    assert_eq!(local.name.as_deref(), Some("bob Example"));
    assert_eq!(
        upstreams::find_identity(&s.down.state.db, &s.up_issuer, &up_bob.id)
            .await
            .unwrap()
            .as_deref(),
        Some(local.id.as_str()),
        "linked by (issuer, sub)"
    );

    // The next login, from another browser, is the same user; nobody new is created.
    let other = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &other, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["sub"], local.id.as_str());
    assert_eq!(user_count(&s.down).await, 1);
}
