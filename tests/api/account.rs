#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The account page as a person uses it: sign-in through the login page, connected apps
//! (removing one stops its tokens at once), sessions (signing one out ends it as logout
//! does, back-channel included), the password change, the name, CSRF, and unlinking rules.
use std::sync::{Arc, Mutex};

use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::helpers::*;

/// One code flow in `browser` as alice (logging in if needed, consenting): the tokens.
async fn tokens_in(browser: &Browser, app: &TestApp, client: &Registered) -> Value {
    let url = app.authorize_url(&client.client_id, "openid profile");
    let outcome = browser
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let response = app.redeem_code(client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Opens `/account` (signing in as `login` if the login page comes): the page's HTML.
async fn account_page(browser: &Browser, app: &TestApp, login: Option<(&str, &str)>) -> String {
    match browser.journey(&app.url("/account"), login, "").await {
        Outcome::Page(200, html) => html,
        other => panic!("expected the account page, got {other:?}"),
    }
}

/// Submits one of the page's forms with its CSRF token; returns the page it redirects to.
async fn submit(browser: &Browser, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let html = account_page(browser, app, None).await;
    let csrf = hidden_input(&html, "csrf_token").expect("a CSRF token on the page");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = browser
        .client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "POST-redirect-GET"
    );
    assert_eq!(response.headers()["location"], "/account");
    account_page(browser, app, None).await
}

fn text_of(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

/// The one-time message the page shows (`role=status` or `role=alert`), and whether it is
/// an error.
fn flash(html: &str) -> (String, bool) {
    if let Some(error) = text_of(html, "[role=alert]").pop() {
        return (error, true);
    }
    (
        text_of(html, "[role=status]").pop().unwrap_or_default(),
        false,
    )
}

/// The sessions listed: (sid, is this browser).
fn sessions(html: &str) -> Vec<(String, bool)> {
    let doc = scraper::Html::parse_document(html);
    let forms = scraper::Selector::parse("form[action=\"/account/sessions/sign-out\"]").unwrap();
    let sid = scraper::Selector::parse("input[name=sid]").unwrap();
    doc.select(&forms)
        .map(|form| {
            let value = form
                .select(&sid)
                .next()
                .unwrap()
                .value()
                .attr("value")
                .unwrap();
            let current = form.text().collect::<String>().contains("this browser");
            (value.to_string(), current)
        })
        .collect()
}

/// Whether `browser` still has a login: an authorization request goes straight back.
async fn still_logged_in(browser: &Browser, app: &TestApp, client: &Registered) -> bool {
    let url = app.authorize_url(&client.client_id, "openid profile");
    matches!(
        browser.journey(url.as_str(), None, "").await,
        Outcome::Redirected(_)
    )
}

async fn introspect_active(app: &TestApp, client: &Registered, token: &str) -> bool {
    let response = app
        .post_basic("/introspect", client, &[("token", token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["active"] == true
}

#[tokio::test]
async fn the_page_asks_for_sign_in_and_returns_to_the_account_after_login() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let browser = Browser::new(&app);

    let response = browser
        .client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/login?request_id="), "{location}");
    let login = browser.client.get(app.url(&location)).send().await.unwrap();
    assert!(login.text().await.unwrap().contains("your account"));

    let html = account_page(&browser, &app, Some(("alice", PASSWORD))).await;
    assert_eq!(text_of(&html, "h1"), ["Your account"]);
    assert!(html.contains("alice@example.com"), "{html}");
    assert_eq!(sessions(&html).len(), 1);
    assert!(sessions(&html)[0].1, "this browser is marked");

    let response = browser
        .client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "signed in: no login asked"
    );
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("content-security-policy"));
}

#[tokio::test]
async fn removing_an_app_stops_its_refresh_and_access_tokens_at_once() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let photos = app.add_client(spec("Photo app")).await;
    let notes = app.add_client(spec("Notes app")).await;
    let browser = Browser::new(&app);
    let photo_tokens = tokens_in(&browser, &app, &photos).await;
    let note_tokens = tokens_in(&browser, &app, &notes).await;
    let access = photo_tokens["access_token"].as_str().unwrap();
    assert!(introspect_active(&app, &photos, access).await);

    let html = account_page(&browser, &app, None).await;
    assert!(
        html.contains("Photo app") && html.contains("Notes app"),
        "{html}"
    );
    assert!(
        html.contains("your name and username"),
        "scopes in plain words"
    );

    let html = submit(
        &browser,
        &app,
        "/account/apps/remove",
        &[("client_id", &photos.client_id)],
    )
    .await;
    let (message, error) = flash(&html);
    assert!(
        !error && message.contains("Photo app no longer has access"),
        "{message}"
    );
    assert!(
        !has_input(&html, "client_id", &photos.client_id),
        "no longer listed"
    );
    assert!(has_input(&html, "client_id", &notes.client_id));

    let (status, body) = refresh(
        &app,
        &photos,
        photo_tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_error(&body), "invalid_grant");
    assert!(
        !introspect_active(&app, &photos, access).await,
        "access token inactive"
    );
    assert_eq!(app.userinfo_status(access).await, StatusCode::UNAUTHORIZED);

    let (status, _) = refresh(
        &app,
        &notes,
        note_tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the other app keeps its access");

    // The app must ask again.
    let url = app.authorize_url(&photos.client_id, "openid profile");
    match browser.journey(url.as_str(), None, "").await {
        Outcome::Page(200, html) => assert!(html.contains("to access your account?")),
        other => panic!("expected the consent page, got {other:?}"),
    }

    let again = submit(
        &browser,
        &app,
        "/account/apps/remove",
        &[("client_id", &photos.client_id)],
    )
    .await;
    assert!(flash(&again).1, "nothing left to remove is said");
}

/// Starts a back-channel receiver on 127.0.0.1: its URL and the logout tokens it received.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(
            move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                let store = store.clone();
                async move {
                    if let Some(token) = form.get("logout_token") {
                        store.lock().unwrap().push(token.clone());
                    }
                    AxumStatus::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
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

#[tokio::test]
async fn signing_out_another_session_ends_it_as_logout_does() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = true).await;
    app.add_user("alice").await;
    let (url, received) = receiver().await;
    let mut with_logout = spec("Listening app");
    with_logout.backchannel_logout_uri = Some(url);
    let client = app.add_client(with_logout).await;
    let laptop = Browser::new(&app);
    let phone = Browser::new(&app);
    let tablet = Browser::new(&app);
    tokens_in(&laptop, &app, &client).await;
    let phone_tokens = tokens_in(&phone, &app, &client).await;
    tokens_in(&tablet, &app, &client).await;
    let phone_sid = claims(phone_tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();

    let html = account_page(&laptop, &app, None).await;
    let listed = sessions(&html);
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|(_, current)| *current).count(), 1);
    assert!(listed
        .iter()
        .any(|(sid, current)| sid == &phone_sid && !current));
    assert!(html.contains("127.0.0.1"), "where from");

    let html = submit(
        &laptop,
        &app,
        "/account/sessions/sign-out",
        &[("sid", &phone_sid)],
    )
    .await;
    assert_eq!(flash(&html), ("Signed out 1 session.".to_string(), false));
    assert_eq!(sessions(&html).len(), 2);
    assert!(
        !still_logged_in(&phone, &app, &client).await,
        "the phone must log in again"
    );
    assert!(still_logged_in(&laptop, &app, &client).await);
    assert!(still_logged_in(&tablet, &app, &client).await);
    let (status, _) = refresh(
        &app,
        &client,
        phone_tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the session's tokens are revoked"
    );
    let notified: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|t| claims(t)["sid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        notified,
        vec![phone_sid.clone()],
        "back-channel logout of that session"
    );

    let html = submit(&laptop, &app, "/account/sessions/sign-out-others", &[]).await;
    assert!(flash(&html).0.contains("1 session"), "{:?}", flash(&html));
    assert_eq!(sessions(&html).len(), 1);
    assert!(!still_logged_in(&tablet, &app, &client).await);
    assert!(still_logged_in(&laptop, &app, &client).await);
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn another_users_session_cannot_be_signed_out() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    app.add_user("bob").await;
    let client = app.add_client(spec("App")).await;
    let alice = Browser::new(&app);
    let bob = Browser::new(&app);
    account_page(&alice, &app, Some(("alice", PASSWORD))).await;
    let bob_html = account_page(&bob, &app, Some(("bob", PASSWORD))).await;
    let bob_sid = sessions(&bob_html)[0].0.clone();

    let html = submit(
        &alice,
        &app,
        "/account/sessions/sign-out",
        &[("sid", &bob_sid)],
    )
    .await;
    assert!(flash(&html).1, "refused: {:?}", flash(&html));
    assert_eq!(sessions(&account_page(&bob, &app, None).await).len(), 1);
    let url = app.authorize_url(&client.client_id, "openid");
    match bob.journey(url.as_str(), None, "").await {
        Outcome::Page(200, html) => assert!(
            html.contains("to access your account?"),
            "bob still signed in"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let laptop = Browser::new(&app);
    let phone = Browser::new(&app);
    tokens_in(&laptop, &app, &client).await;
    tokens_in(&phone, &app, &client).await;
    const NEW: &str = "a brand new passphrase";

    let html = submit(
        &laptop,
        &app,
        "/account/password",
        &[
            ("current_password", "not the password"),
            ("new_password", NEW),
            ("new_password_again", NEW),
        ],
    )
    .await;
    assert_eq!(
        flash(&html),
        ("The current password is incorrect.".to_string(), true)
    );
    let html = submit(
        &laptop,
        &app,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW),
            ("new_password_again", "a brand new passphrasE"),
        ],
    )
    .await;
    assert!(flash(&html).0.contains("differ"), "{:?}", flash(&html));
    let html = submit(
        &laptop,
        &app,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "short"),
            ("new_password_again", "short"),
        ],
    )
    .await;
    assert!(flash(&html).0.contains("at least 8"), "{:?}", flash(&html));
    assert!(
        still_logged_in(&phone, &app, &client).await,
        "refusals change nothing"
    );

    let html = submit(
        &laptop,
        &app,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW),
            ("new_password_again", NEW),
        ],
    )
    .await;
    let (message, error) = flash(&html);
    assert!(
        !error && message.contains("password was changed"),
        "{message}"
    );
    assert!(message.contains("1 other session"), "{message}");
    assert!(
        !still_logged_in(&phone, &app, &client).await,
        "other sessions ended"
    );
    assert!(
        still_logged_in(&laptop, &app, &client).await,
        "this one stays"
    );

    let url = app.authorize_url(&client.client_id, "openid profile");
    let old = Browser::new(&app)
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    assert!(
        matches!(old, Outcome::Page(401, _)),
        "the old password fails: {old:?}"
    );
    let new = Browser::new(&app)
        .journey(url.as_str(), Some(("alice", NEW)), "allow")
        .await;
    assert!(new.param("code").is_some(), "the new one works: {new:?}");
    let stored = tessera::storage::users::find_by_username(&app.state.db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.unwrap().starts_with("$argon2id$"));
}

#[tokio::test]
async fn the_name_is_editable() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let browser = Browser::new(&app);
    account_page(&browser, &app, Some(("alice", PASSWORD))).await;
    let html = submit(
        &browser,
        &app,
        "/account/profile",
        &[("name", "  Alice Liddell ")],
    )
    .await;
    assert_eq!(flash(&html), ("Your name was saved.".to_string(), false));
    assert_eq!(hidden_or_value(&html, "name"), "Alice Liddell");
    let long = "x".repeat(201);
    let html = submit(&browser, &app, "/account/profile", &[("name", &long)]).await;
    assert!(flash(&html).1, "too long: refused");
    let user = tessera::storage::users::find_by_username(&app.state.db, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name.as_deref(), Some("Alice Liddell"));
}

/// Whether one of the page's forms carries `name=value` (an app, a session, a link listed).
fn has_input(html: &str, name: &str, value: &str) -> bool {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
    doc.select(&selector)
        .any(|e| e.value().attr("value") == Some(value))
}

fn hidden_or_value(html: &str, name: &str) -> String {
    hidden_input(html, name).unwrap_or_default()
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("Photo app")).await;
    let browser = Browser::new(&app);
    let tokens = tokens_in(&browser, &app, &client).await;
    let html = account_page(&browser, &app, None).await;
    let sid = sessions(&html)[0].0.clone();

    for (path, fields) in [
        (
            "/account/apps/remove",
            vec![("client_id", client.client_id.as_str())],
        ),
        ("/account/sessions/sign-out", vec![("sid", sid.as_str())]),
        ("/account/sessions/sign-out-others", vec![]),
        ("/account/profile", vec![("name", "Mallory")]),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", "mallory's password"),
                ("new_password_again", "mallory's password"),
            ],
        ),
    ] {
        for csrf in [None, Some("forged")] {
            let mut form = fields.clone();
            if let Some(token) = csrf {
                form.push(("csrf_token", token));
            }
            let response = browser
                .client
                .post(app.url(path))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} {csrf:?}");
        }
    }
    let (status, _) = refresh(
        &app,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the app kept its access");
    assert!(still_logged_in(&browser, &app, &client).await);
    assert!(!account_page(&browser, &app, None).await.contains("Mallory"));

    // A browser with no session at all is refused the same way.
    let response = Browser::new(&app)
        .client
        .post(app.url("/account/sessions/sign-out-others"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_identity_is_unlinked_only_while_another_way_to_sign_in_remains() {
    let app = spawn_app().await;
    let alice = app.add_user("alice").await;
    let db = &app.state.db;
    let now = tessera::clock::Clock::now(&app.clock);
    let idp = "https://idp.example";
    tessera::storage::upstreams::link_identity(db, idp, "alice-at-idp", &alice.id, now)
        .await
        .unwrap();
    tessera::storage::upstreams::link_identity(db, "https://other.example", "a2", &alice.id, now)
        .await
        .unwrap();
    let browser = Browser::new(&app);
    let html = account_page(&browser, &app, Some(("alice", PASSWORD))).await;
    assert!(
        html.contains(idp) && html.contains("https://other.example"),
        "{html}"
    );

    // Take her password away (a federated-only account): two links, one may go.
    entity::users::Entity::update_many()
        .col_expr(
            entity::users::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(entity::users::Column::Id.eq(alice.id.as_str()))
        .exec(db)
        .await
        .unwrap();
    let html = account_page(&browser, &app, None).await;
    assert!(
        !html.contains("current_password"),
        "no password form without a password"
    );
    let html = submit(
        &browser,
        &app,
        "/account/identities/unlink",
        &[("issuer", "https://other.example"), ("subject", "a2")],
    )
    .await;
    assert!(!flash(&html).1, "{:?}", flash(&html));
    assert!(!has_input(&html, "subject", "a2"), "no longer listed");

    let html = submit(
        &browser,
        &app,
        "/account/identities/unlink",
        &[("issuer", idp), ("subject", "alice-at-idp")],
    )
    .await;
    let (message, error) = flash(&html);
    assert!(
        error && message.contains("only way you can sign in"),
        "{message}"
    );
    assert!(has_input(&html, "subject", "alice-at-idp"), "still linked");
    assert_eq!(
        tessera::storage::upstreams::find_identity(db, idp, "alice-at-idp")
            .await
            .unwrap()
            .as_deref(),
        Some(alice.id.as_str())
    );

    // Another user's link is not hers to remove.
    let bob = app.add_user("bob").await;
    tessera::storage::upstreams::link_identity(db, idp, "bob-at-idp", &bob.id, now)
        .await
        .unwrap();
    let html = submit(
        &browser,
        &app,
        "/account/identities/unlink",
        &[("issuer", idp), ("subject", "bob-at-idp")],
    )
    .await;
    assert!(flash(&html).1);
    assert!(
        tessera::storage::upstreams::find_identity(db, idp, "bob-at-idp")
            .await
            .unwrap()
            .is_some()
    );
}

/// The `value` of the input with `id` on `html`.
fn input_value(html: &str, id: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("input#{id}")).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
}

#[tokio::test]
async fn a_user_makes_an_api_key_sees_it_once_and_revokes_it() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let api = app.add_client(spec("Backup API")).await;
    let browser = Browser::new(&app);
    let html = account_page(&browser, &app, Some(("alice", PASSWORD))).await;
    assert!(html.contains("You have no API keys."), "{html}");
    let csrf = hidden_input(&html, "csrf_token").unwrap();

    // Made: shown on a page of its own, once.
    let response = browser
        .client
        .post(app.url("/account/api-keys/create"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Backup script"),
            ("scope", "api:read"),
            ("expires_in_days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let shown = response.text().await.unwrap();
    let key = input_value(&shown, "api_key").expect("the key on the page");
    assert!(key.starts_with("tsk_"), "{key}");

    // It works, for alice, with its scope.
    let body: Value = app
        .post_basic("/introspect", &api, &[("token", key.as_str())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "api_key");
    assert_eq!(body["scope"], "api:read");
    assert_eq!(body["username"], "alice");

    // Listed by name and prefix, never the key again.
    let html = account_page(&browser, &app, None).await;
    assert!(html.contains("Backup script"), "{html}");
    assert!(!html.contains(&key), "the key is shown only once");
    let id = {
        let doc = scraper::Html::parse_document(&html);
        let selector = scraper::Selector::parse("li[data-api-key]").unwrap();
        let li = doc.select(&selector).next().expect("the key is listed");
        li.value().attr("data-api-key").unwrap().to_string()
    };

    // Another user cannot revoke it.
    app.add_user("bob").await;
    let other = Browser::new(&app);
    account_page(&other, &app, Some(("bob", PASSWORD))).await;
    let html = submit(&other, &app, "/account/api-keys/revoke", &[("id", &id)]).await;
    assert!(flash(&html).1, "not bob's key");
    let active = |body: Value| body["active"] == true;
    let check = || async {
        active(
            app.post_basic("/introspect", &api, &[("token", key.as_str())])
                .await
                .json()
                .await
                .unwrap(),
        )
    };
    assert!(check().await, "still active after bob's attempt");

    // Alice revokes it: refused at once.
    let html = submit(&browser, &app, "/account/api-keys/revoke", &[("id", &id)]).await;
    assert_eq!(
        flash(&html),
        (
            "The key Backup script was revoked. Scripts using it are refused from now on."
                .to_string(),
            false
        )
    );
    assert!(!check().await, "revoked: inactive");
    assert!(html.contains("You have no API keys."), "{html}");

    // A lifetime the page does not offer, or no name, is refused with a message.
    let html = submit(
        &browser,
        &app,
        "/account/api-keys/create",
        &[("name", "x"), ("expires_in_days", "9999")],
    )
    .await;
    assert_eq!(
        flash(&html),
        ("Choose one of the lifetimes offered.".to_string(), true)
    );
}
