#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A NUL byte or another control character in any parameter of any endpoint is that
//! endpoint's 4xx. On PostgreSQL a NUL that reaches a query fails inside the database
//! (`invalid byte sequence for encoding "UTF8": 0x00`), so every request below is otherwise
//! well-formed enough to reach one: the client exists, the session and CSRF token are real.
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::StatusCode;

use crate::helpers::*;

/// What a control character is replaced or prefixed with: NUL, another C0, DEL, a C1 (NEL).
const BAD: [&str; 4] = ["%00", "%01", "%7F", "%C2%85"];

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `pairs` urlencoded, with the value of pair `poisoned` prefixed by the raw (already
/// percent-encoded) `bad`.
fn form_with(pairs: &[(&str, String)], poisoned: usize, bad: &str) -> String {
    pairs
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let value = encode(value);
            if i == poisoned {
                format!("{name}={bad}{value}")
            } else {
                format!("{name}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Each parameter poisoned in turn with each bad character, plus a poisoned parameter name.
fn variants(pairs: &[(&str, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for bad in BAD {
        for i in 0..pairs.len() {
            out.push(form_with(pairs, i, bad));
        }
        out.push(format!("{}&x{bad}y=1", form_with(pairs, usize::MAX, bad)));
    }
    out
}

fn assert_refused(what: &str, status: StatusCode, location: Option<&str>) {
    let redirected_with_error = status == StatusCode::SEE_OTHER
        && location.is_some_and(|l| l.starts_with(REDIRECT_URI) && l.contains("error="));
    assert!(
        status.is_client_error() || redirected_with_error,
        "{what}: {status} {location:?}"
    );
}

async fn send(request: reqwest::RequestBuilder, what: &str) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    assert_refused(what, status, location.as_deref());
}

async fn post_form(client: &reqwest::Client, url: String, body: String) {
    let what = format!("POST {url} {body}");
    let request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    send(request, &what).await;
}

#[tokio::test]
async fn control_characters_in_every_protocol_parameter_are_refused() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let id = client.client_id.clone();
    let secret = client.secret.clone().unwrap();
    let verifier = "v".repeat(43);
    let authenticated = |mut pairs: Vec<(&'static str, String)>| {
        pairs.push(("client_id", id.clone()));
        pairs.push(("client_secret", secret.clone()));
        pairs
    };
    let forms: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "/token",
            authenticated(vec![
                ("grant_type", "authorization_code".into()),
                ("code", "some-code".into()),
                ("redirect_uri", REDIRECT_URI.into()),
                ("code_verifier", verifier.clone()),
                ("resource", "https://api.example.com/".into()),
            ]),
        ),
        (
            "/token",
            authenticated(vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", "family.1.tag".into()),
                ("scope", "openid".into()),
            ]),
        ),
        (
            "/token",
            authenticated(vec![
                ("grant_type", "client_credentials".into()),
                ("scope", "openid".into()),
            ]),
        ),
        (
            "/token",
            vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", id.clone()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ),
                ("client_assertion", "e30.e30.sig".into()),
            ],
        ),
        (
            "/introspect",
            authenticated(vec![
                ("token", "a-token".into()),
                ("token_type_hint", "access_token".into()),
            ]),
        ),
        (
            "/revoke",
            authenticated(vec![
                ("token", "a-token".into()),
                ("token_type_hint", "refresh_token".into()),
            ]),
        ),
        ("/userinfo", vec![("access_token", "a-token".into())]),
    ];
    for (path, pairs) in &forms {
        for body in variants(pairs) {
            post_form(&http(), app.url(path), body).await;
        }
    }

    let authorize: Vec<(&str, String)> = vec![
        ("client_id", id.clone()),
        ("redirect_uri", REDIRECT_URI.into()),
        ("response_type", "code".into()),
        ("scope", "openid profile".into()),
        ("state", "xyz".into()),
        ("nonce", "n-0S6".into()),
        ("code_challenge", verifier.clone()),
        ("code_challenge_method", "S256".into()),
        ("prompt", "login".into()),
        ("max_age", "60".into()),
        ("login_hint", "alice".into()),
        ("response_mode", "query".into()),
        ("ui_locales", "en".into()),
        ("display", "page".into()),
        ("id_token_hint", "e30.e30.sig".into()),
    ];
    for query in variants(&authorize) {
        let url = app.url(&format!("/authorize?{query}"));
        send(http().get(&url), &url).await;
        post_form(&http(), app.url("/authorize"), query).await;
    }
    // Also the single requests of the issue.
    post_form(
        &http(),
        app.url("/token"),
        "grant_type=client_credentials&client_id=%00abc".into(),
    )
    .await;
    let url = app.url("/authorize?client_id=%00x&response_type=code");
    send(http().get(&url), &url).await;
}

#[tokio::test]
async fn control_characters_in_credentials_headers_and_paths_are_refused() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let id = client.client_id.as_str();
    let secret = client.secret.as_deref().unwrap();
    // Basic credentials, form-encoded inside the base64 or raw.
    for credentials in [
        format!("%00{id}:{secret}"),
        format!("{id}:%00{secret}"),
        format!("\u{0}{id}:{secret}"),
        format!("{id}\u{1}:{secret}"),
        format!("{id}:{secret}\u{7f}"),
    ] {
        let response = http()
            .post(app.url("/token"))
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode(credentials.as_bytes())),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{credentials:?}"
        );
        assert_eq!(
            json_error(&response.json().await.unwrap()),
            "invalid_client"
        );
    }
    // A client assertion whose (unverified) subject names the client to look up.
    for claims in [r#"{"sub":"\u0000x"}"#, r#"{"sub":"a\u0001b","iss":"a"}"#] {
        let assertion = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let response = http()
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &assertion),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{claims}");
    }
    // A bearer token with a control character (NUL cannot be sent in a header).
    let response = http()
        .get(app.url("/userinfo"))
        .header("authorization", "Bearer a\tb")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Path segments and the pages' queries.
    for path in [
        "/login/upstream/%00x?request_id=abc",
        "/login/upstream/x%01?request_id=abc",
        "/login?request_id=%00abc",
        "/consent?request_id=%00abc",
        "/federation/callback?state=%00s&code=c",
        "/federation/callback?state=s&code=%00c&iss=%00i",
        "/federation/callback?state=s&error=%00e",
        "/no-such-%00-page",
    ] {
        send(http().get(app.url(path)), path).await;
    }
}

#[tokio::test]
async fn control_characters_in_every_field_of_the_login_and_consent_forms_are_refused() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    app.add_user("alice").await;
    let url = app
        .authorize_url(&client.client_id, "openid profile")
        .to_string();

    let browser = Browser::new(&app);
    let Outcome::Page(200, html) = browser.journey(&url, None, "").await else {
        panic!("no login page");
    };
    let login: Vec<(&str, String)> = vec![
        ("csrf_token", hidden_input(&html, "csrf_token").unwrap()),
        ("request_id", hidden_input(&html, "request_id").unwrap()),
        ("username", "alice".into()),
        ("password", PASSWORD.into()),
    ];
    for body in variants(&login) {
        post_form(&browser.client, app.url("/login"), body).await;
    }

    let Outcome::Page(200, html) = browser.journey(&url, Some(("alice", PASSWORD)), "").await
    else {
        panic!("no consent page");
    };
    let consent: Vec<(&str, String)> = vec![
        ("csrf_token", hidden_input(&html, "csrf_token").unwrap()),
        ("request_id", hidden_input(&html, "request_id").unwrap()),
        ("decision", "allow".into()),
    ];
    for body in variants(&consent) {
        post_form(&browser.client, app.url("/consent"), body).await;
    }
    // The untouched form still works: the refusals changed nothing.
    let response = browser
        .client
        .post(app.url("/consent"))
        .form(&consent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("code="), "{location}");
}
