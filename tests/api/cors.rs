#![allow(clippy::unwrap_used, clippy::expect_used)]
//! CORS on the token, userinfo and revocation endpoints for browser-based apps: preflights
//! answered for origins some client allows, answers readable only by the origins of the
//! client they are for, nothing for foreign origins, `Vary: Origin` always.
use reqwest::{Method, StatusCode};

use crate::helpers::*;

/// The origin of `helpers::REDIRECT_URI`, which every client from `spec` registers.
const APP_ORIGIN: &str = "http://127.0.0.1:1";
const FOREIGN: &str = "https://evil.example";
const CHALLENGE: &str = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    http()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

fn varies_on_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

#[tokio::test]
async fn preflight_is_answered_for_a_redirect_uri_origin_and_not_for_a_foreign_one() {
    let app = spawn_app().await;
    app.add_public_client().await;
    for path in ["/token", "/revoke", "/userinfo"] {
        let ok = preflight(&app, path, APP_ORIGIN).await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(allow_origin(&ok), Some(APP_ORIGIN), "{path}");
        let methods = ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap();
        assert!(methods.contains("POST"), "{path}: {methods}");
        let headers = ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(headers.contains("content-type"), "{path}: {headers}");
        assert!(ok
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
        assert!(varies_on_origin(&ok), "{path}");

        let foreign = preflight(&app, path, FOREIGN).await;
        assert_eq!(allow_origin(&foreign), None, "{path}");
        assert!(foreign
            .headers()
            .get("access-control-allow-methods")
            .is_none());
        assert!(varies_on_origin(&foreign), "{path}");
    }
    // Introspection is for resource servers with a secret: no CORS there.
    let introspect = preflight(&app, "/introspect", APP_ORIGIN).await;
    assert_eq!(allow_origin(&introspect), None);
}

#[tokio::test]
async fn a_registered_origin_list_replaces_the_redirect_uri_origins() {
    let app = spawn_app().await;
    let mut s = spec("SPA");
    s.allowed_cors_origins = vec!["https://spa.example".into()];
    let client = app.add_client(s).await;

    assert_eq!(
        allow_origin(&preflight(&app, "/token", "https://spa.example").await),
        Some("https://spa.example")
    );
    assert_eq!(
        allow_origin(&preflight(&app, "/token", APP_ORIGIN).await),
        None
    );
    // The actual request: the client's own origin reads the answer, another does not.
    for (origin, expected) in [
        ("https://spa.example", Some("https://spa.example")),
        (APP_ORIGIN, None),
        (FOREIGN, None),
    ] {
        let response = http()
            .post(app.url("/token"))
            .header("origin", origin)
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[("grant_type", "authorization_code"), ("code", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(allow_origin(&response), expected, "{origin}");
        assert!(varies_on_origin(&response));
    }
}

#[tokio::test]
async fn a_client_is_answered_only_for_its_own_origins_even_if_another_client_allows_the_origin() {
    let app = spawn_app().await;
    let mut other = spec("Other");
    other.allowed_cors_origins = vec!["https://other.example".into()];
    app.add_client(other).await;
    let mut mine = spec("Mine");
    mine.allowed_cors_origins = vec!["https://mine.example".into()];
    let mine = app.add_client(mine).await;

    // The preflight names no client: any client's origin passes it...
    assert_eq!(
        allow_origin(&preflight(&app, "/revoke", "https://other.example").await),
        Some("https://other.example")
    );
    // ...but the request for `mine` is not readable from the other client's origin.
    for (origin, expected) in [
        ("https://mine.example", Some("https://mine.example")),
        ("https://other.example", None),
    ] {
        let response = http()
            .post(app.url("/revoke"))
            .header("origin", origin)
            .basic_auth(&mine.client_id, mine.secret.as_deref())
            .form(&[("token", "whatever")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(allow_origin(&response), expected, "{origin}");
    }
}

#[tokio::test]
async fn a_new_client_origin_is_answered_at_once() {
    let app = spawn_app().await;
    app.add_public_client().await;
    // Builds the origin index.
    assert_eq!(
        allow_origin(&preflight(&app, "/token", "https://late.example").await),
        None
    );
    let mut late = spec("Late");
    late.allowed_cors_origins = vec!["https://late.example".into()];
    app.add_client(late).await;
    // A client change bumps the clients version, which the cache polls.
    tokio::time::sleep(tessera::storage::client_cache::VISIBLE_AFTER).await;
    assert_eq!(
        allow_origin(&preflight(&app, "/token", "https://late.example").await),
        Some("https://late.example")
    );
}

#[tokio::test]
async fn a_public_pkce_client_redeems_its_code_from_its_page_and_reads_userinfo() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_public_client().await;
    let mut url = app.authorize_url(&client.client_id, "openid");
    url.query_pairs_mut()
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let outcome = Browser::new(&app)
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;

    let response = http()
        .post(app.url("/token"))
        .header("origin", APP_ORIGIN)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", outcome.code().as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", client.client_id.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allow_origin(&response), Some(APP_ORIGIN));
    assert!(varies_on_origin(&response));
    let body: serde_json::Value = response.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap();

    for (origin, expected) in [(APP_ORIGIN, Some(APP_ORIGIN)), (FOREIGN, None)] {
        let userinfo = http()
            .get(app.url("/userinfo"))
            .header("origin", origin)
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), StatusCode::OK);
        assert_eq!(allow_origin(&userinfo), expected, "{origin}");
    }
}

#[tokio::test]
async fn requests_without_origin_get_no_cors_headers_and_discovery_stays_public() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(allow_origin(&response), None);
    assert!(varies_on_origin(&response));

    let discovery = http()
        .get(app.url("/.well-known/openid-configuration"))
        .header("origin", FOREIGN)
        .send()
        .await
        .unwrap();
    assert_eq!(allow_origin(&discovery), Some("*"));
    assert!(discovery
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
}
