#![allow(clippy::unwrap_used, clippy::expect_used)]
//! RP-Initiated Logout 1.0 and Back-Channel Logout 1.0: the end-session endpoint with and
//! without a hint, the redirect rules, what a logout revokes, and logout tokens delivered to
//! a listener in the test and verified against the JWKS.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const AFTER_LOGOUT: &str = "http://127.0.0.1:1/signed-out";

/// One code flow in `browser` (logging in as alice if needed, consenting): the token response.
async fn tokens_in(browser: &Browser, app: &TestApp, client: &Registered, scope: &str) -> Value {
    let url = app.authorize_url(&client.client_id, scope);
    let outcome = browser
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let response = app.redeem_code(client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn app_with_logout(name: &str, backchannel: Option<String>) -> tessera::clients::ClientMetadata {
    let mut s = spec(name);
    s.post_logout_redirect_uris = vec![AFTER_LOGOUT.into()];
    s.backchannel_logout_uri = backchannel;
    s
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn get_logout(browser: &Browser, app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    let mut url = url::Url::parse(&app.url("/logout")).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    browser.client.get(url).send().await.unwrap()
}

/// Whether `browser` still has a login: an authorization request goes straight back.
async fn still_logged_in(browser: &Browser, app: &TestApp, client: &Registered) -> bool {
    let url = app.authorize_url(&client.client_id, "openid");
    matches!(
        browser.journey(url.as_str(), None, "").await,
        Outcome::Redirected(_)
    )
}

#[tokio::test]
async fn discovery_advertises_both_logouts() {
    let app = spawn_app().await;
    let doc: Value = get_json(app.url("/.well-known/openid-configuration")).await;
    assert_eq!(doc["end_session_endpoint"], app.url("/logout").as_str());
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn a_hint_logs_out_at_once_revoking_session_tokens_but_not_offline_ones() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let web = app.add_client(app_with_logout("Web app", None)).await;
    let sync = app.add_client(spec("Sync app")).await;
    let browser = Browser::new(&app);
    let session_bound = tokens_in(&browser, &app, &web, "openid").await;
    let offline = tokens_in(&browser, &app, &sync, "openid offline_access").await;
    let id_token = session_bound["id_token"].as_str().unwrap();
    let sid = claims(id_token)["sid"].as_str().unwrap().to_string();
    assert_eq!(
        claims(offline["id_token"].as_str().unwrap())["sid"],
        sid.as_str(),
        "one login session, one sid"
    );

    let response = get_logout(
        &browser,
        &app,
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", "bye-1"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("{AFTER_LOGOUT}?state=bye-1").as_str()
    );

    assert!(!still_logged_in(&browser, &app, &web).await);
    let (status, body) = refresh(
        &app,
        &web,
        session_bound["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, _) = refresh(
        &app,
        &sync,
        offline["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "offline_access outlives the session"
    );
}

#[tokio::test]
async fn without_a_hint_the_user_confirms_on_a_csrf_protected_page() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let web = app.add_client(app_with_logout("Web app", None)).await;
    let browser = Browser::new(&app);
    tokens_in(&browser, &app, &web, "openid").await;

    let response = get_logout(
        &browser,
        &app,
        &[
            ("client_id", &web.client_id),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", "s2"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Web app"), "names the app: {html}");
    let csrf = hidden_input(&html, "csrf_token").unwrap();
    assert!(
        still_logged_in(&browser, &app, &web).await,
        "nothing ended yet"
    );

    // A forged confirmation (no CSRF token) changes nothing.
    let forged = browser
        .client
        .post(app.url("/logout"))
        .form(&[("confirm", "yes"), ("client_id", &web.client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(still_logged_in(&browser, &app, &web).await);

    let confirmed = browser
        .client
        .post(app.url("/logout"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("confirm", "yes"),
            ("client_id", &web.client_id),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
            ("state", "s2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        confirmed.headers()["location"],
        format!("{AFTER_LOGOUT}?state=s2").as_str()
    );
    assert!(!still_logged_in(&browser, &app, &web).await);
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_never_redirected_to() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let web = app.add_client(app_with_logout("Web app", None)).await;
    let other = app.add_client(spec("Other app")).await;
    let browser = Browser::new(&app);
    let tokens = tokens_in(&browser, &app, &web, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    for (hint, uri) in [
        (hint, "http://127.0.0.1:1/elsewhere"),
        (hint, "http://127.0.0.1:1/signed-out/"),
    ] {
        let response = get_logout(
            &browser,
            &app,
            &[("id_token_hint", hint), ("post_logout_redirect_uri", uri)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert!(response.headers().get("location").is_none());
    }
    // Registered for another app than the one asking: no redirect either.
    let response = get_logout(
        &Browser::new(&app),
        &app,
        &[
            ("client_id", &other.client_id),
            ("post_logout_redirect_uri", AFTER_LOGOUT),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn a_hint_for_another_user_is_ignored_and_a_forged_one_refused() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    app.add_user("bob").await;
    let web = app.add_client(app_with_logout("Web app", None)).await;
    let bobs_browser = Browser::new(&app);
    let url = app.authorize_url(&web.client_id, "openid");
    let outcome = bobs_browser
        .journey(url.as_str(), Some(("bob", PASSWORD)), "allow")
        .await;
    let bobs: Value = app
        .redeem_code(&web, &outcome.code())
        .await
        .json()
        .await
        .unwrap();
    let alices_browser = Browser::new(&app);
    tokens_in(&alices_browser, &app, &web, "openid").await;

    let response = get_logout(
        &alices_browser,
        &app,
        &[("id_token_hint", bobs["id_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        hidden_input(&response.text().await.unwrap(), "csrf_token").is_some(),
        "asks alice"
    );
    assert!(still_logged_in(&alices_browser, &app, &web).await);

    let forged = format!("{}x", bobs["id_token"].as_str().unwrap());
    let response = get_logout(&alices_browser, &app, &[("id_token_hint", &forged)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(still_logged_in(&alices_browser, &app, &web).await);
}

/// A back-channel receiver: records what it is sent, answers `status` after `delay`.
#[derive(Clone)]
struct Receiver {
    received: Arc<Mutex<Vec<String>>>,
    status: AxumStatus,
    delay: Duration,
}

async fn receive(
    State(receiver): State<Receiver>,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> AxumStatus {
    tokio::time::sleep(receiver.delay).await;
    if let Some(token) = form.get("logout_token") {
        receiver.received.lock().unwrap().push(token.clone());
    }
    receiver.status
}

/// Starts a receiver on 127.0.0.1; returns its URL and what it received.
async fn receiver(status: AxumStatus, delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let state = Receiver {
        received: received.clone(),
        status,
        delay,
    };
    let app = axum::Router::new()
        .route("/backchannel", axum::routing::post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn backchannel_logout_tokens_verify_and_a_dead_receiver_does_not_delay_logout() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = true).await;
    app.add_user("alice").await;
    let (good_url, good) = receiver(AxumStatus::OK, Duration::ZERO).await;
    let (hanging_url, _) = receiver(AxumStatus::OK, Duration::from_secs(30)).await;
    let (failing_url, failing) = receiver(AxumStatus::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let mut es256 = app_with_logout("Listening app", Some(good_url));
    es256.id_token_alg = tessera::types::SigningAlg::Es256;
    let listening = app.add_client(es256).await;
    let hanging = app
        .add_client(app_with_logout("Hanging app", Some(hanging_url)))
        .await;
    let failing_app = app
        .add_client(app_with_logout("Failing app", Some(failing_url)))
        .await;
    let browser = Browser::new(&app);
    let tokens = tokens_in(&browser, &app, &listening, "openid").await;
    tokens_in(&browser, &app, &hanging, "openid").await;
    tokens_in(&browser, &app, &failing_app, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = claims(id_token)["sid"].as_str().unwrap().to_string();

    let started = Instant::now();
    let response = get_logout(&browser, &app, &[("id_token_hint", id_token)]).await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(took < Duration::from_secs(4), "logout page took {took:?}");
    assert!(
        !failing.lock().unwrap().is_empty(),
        "the failing receiver was tried too"
    );

    let received = good.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "delivered once");
    let token = &received[0];
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::ES256,
        "the client's ID-token alg"
    );
    let jwks: jsonwebtoken::jwk::JwkSet = get_json(app.url("/jwks")).await;
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&app.base]);
    validation.set_audience(&[&listening.client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "iat"]);
    let data = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    let claims = data.claims;
    assert!(claims["jti"].is_string());
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["sub"], self::claims(id_token)["sub"]);
    assert!(
        claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(),
        "{claims}"
    );
    assert!(claims.get("nonce").is_none(), "a logout token has no nonce");
}

#[tokio::test]
async fn backchannel_to_a_loopback_address_is_refused_unless_allowed() {
    let app = spawn_app().await;
    assert!(!app.settings.allow_private_callbacks, "refused by default");
    app.add_user("alice").await;
    let (url, received) = receiver(AxumStatus::OK, Duration::ZERO).await;
    let client = app.add_client(app_with_logout("App", Some(url))).await;
    let browser = Browser::new(&app);
    let tokens = tokens_in(&browser, &app, &client, "openid").await;
    let response = get_logout(
        &browser,
        &app,
        &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        received.lock().unwrap().is_empty(),
        "no request to 127.0.0.1"
    );
}

#[tokio::test]
async fn cli_sign_out_ends_every_session_of_the_user_and_notifies_the_apps() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let (url, received) = receiver(AxumStatus::OK, Duration::ZERO).await;
    let client = app.add_client(app_with_logout("App", Some(url))).await;
    let laptop = Browser::new(&app);
    let phone = Browser::new(&app);
    let first = tokens_in(&laptop, &app, &client, "openid").await;
    tokens_in(&phone, &app, &client, "openid").await;

    // tokio's Command: the receiver runs on this test's runtime and must keep answering.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["user", "sign-out", "--username", "alice", "--json"])
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", &app.settings.keys_dir)
        .env("TESSERA_ISSUER", &app.base)
        .env("TESSERA_ALLOW_PRIVATE_CALLBACKS", "true")
        .env("TESSERA_LOG", "error")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["sessions_ended"], 2, "{result}");
    assert_eq!(result["delivered"], 2, "{result}");

    assert!(!still_logged_in(&laptop, &app, &client).await);
    assert!(!still_logged_in(&phone, &app, &client).await);
    let (status, _) = refresh(
        &app,
        &client,
        first["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let sids: std::collections::HashSet<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|t| claims(t)["sid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sids.len(), 2, "one logout token per session");
}

/// A receiver that answers 503 to its first call and 200 afterwards.
async fn flaky_receiver() -> (String, Arc<Mutex<Vec<u16>>>) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let seen = answers.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                let status = if seen.is_empty() {
                    AxumStatus::SERVICE_UNAVAILABLE
                } else {
                    AxumStatus::OK
                };
                seen.push(status.as_u16());
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, answers)
}

#[tokio::test]
async fn a_failed_delivery_stays_in_the_outbox_and_a_restarted_worker_sends_it() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = true).await;
    app.add_user("alice").await;
    let (url, answers) = flaky_receiver().await;
    let client = app.add_client(app_with_logout("App", Some(url))).await;
    let browser = Browser::new(&app);
    let tokens = tokens_in(&browser, &app, &client, "openid").await;
    let response = get_logout(
        &browser,
        &app,
        &[("id_token_hint", tokens["id_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        *answers.lock().unwrap(),
        vec![503],
        "tried once during the logout"
    );
    let pending = tessera::storage::logout_deliveries::pending(&app.state.db)
        .await
        .unwrap();
    assert_eq!(pending, 1, "kept for a retry");

    // A worker started later (as after a restart) sends it once its retry time has come.
    tessera::oauth::logout::backchannel::spawn_worker(
        app.state.db.clone(),
        app.state.clock.clone(),
        true,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(answers.lock().unwrap().len(), 1, "not before its backoff");
    app.clock.advance(6);
    let deadline = Instant::now() + Duration::from_secs(5);
    while answers.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(*answers.lock().unwrap(), vec![503, 200]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pending = tessera::storage::logout_deliveries::pending(&app.state.db)
        .await
        .unwrap();
    assert_eq!(pending, 0, "delivered and gone");
}
