#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `private_key_jwt` clients that publish their keys at a `jwks_uri`: fetched through the
//! SSRF guard, refetched when the client rotates, never hammered, size-capped.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::types::AuthMethod;

use crate::access_tokens::cc_spec;
use crate::helpers::*;

/// A client's key server on 127.0.0.1: serves whatever `body` holds, counts the requests.
struct KeyServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

async fn key_server(body: String) -> KeyServer {
    let body = Arc::new(Mutex::new(body));
    let hits = Arc::new(AtomicUsize::new(0));
    let (b, h) = (body.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (b, h) = (b.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let body = b.lock().unwrap().clone();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    KeyServer { url, body, hits }
}

async fn token_with(app: &TestApp, assertion: &str) -> reqwest::Response {
    http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap()
}

async fn jwks_uri_client(app: &TestApp, uri: &str) -> String {
    let mut s = cc_spec(AuthMethod::PrivateKeyJwt);
    s.jwks_uri = Some(uri.to_string());
    app.add_client(s).await.client_id
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_fetched_cached_and_refetched_when_the_client_rotates() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = true).await;
    let old = josekit::jws::ES256.generate_key_pair().unwrap();
    let keys = key_server(public_jwks(&old, "old")).await;
    let client_id = jwks_uri_client(&app, &keys.url).await;

    for jti in ["a1", "a2"] {
        let response =
            token_with(&app, &client_assertion(&app, &old, "old", &client_id, jti)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(keys.hits.load(Ordering::SeqCst), 1, "the set is cached");

    // The client rotates: its server now publishes only the new key.
    let new = josekit::jws::ES256.generate_key_pair().unwrap();
    *keys.body.lock().unwrap() = public_jwks(&new, "new");
    // Right after a fetch, assertions under an unknown kid do not make us fetch again:
    // nobody can turn Tessera into a load generator against the client's server.
    for jti in ["b1", "b2", "b3"] {
        let response =
            token_with(&app, &client_assertion(&app, &new, "new", &client_id, jti)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(keys.hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    let response = token_with(&app, &client_assertion(&app, &new, "new", &client_id, "c1")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    assert_eq!(
        keys.hits.load(Ordering::SeqCst),
        2,
        "fetched again for the new kid"
    );
    // The old key is gone from the client's set, so it no longer authenticates.
    let response = token_with(&app, &client_assertion(&app, &old, "old", &client_id, "c2")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_jwks_uri_on_a_private_address_is_refused_unless_allowed() {
    let app = spawn_app().await;
    assert!(!app.settings.allow_private_callbacks, "refused by default");
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let keys = key_server(public_jwks(&pair, "k")).await;
    let client_id = jwks_uri_client(&app, &keys.url).await;
    let response = token_with(&app, &client_assertion(&app, &pair, "k", &client_id, "j1")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "invalid_client"
    );
    assert_eq!(
        keys.hits.load(Ordering::SeqCst),
        0,
        "no request left Tessera"
    );
}

#[tokio::test]
async fn an_oversized_or_malformed_key_set_authenticates_nobody() {
    let app = spawn_app_with(|s| s.allow_private_callbacks = true).await;
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let real = public_jwks(&pair, "k");
    // The real key, padded past the 64 KiB cap with an extra member.
    let mut padded: Value = serde_json::from_str(&real).unwrap();
    padded["padding"] = json!("x".repeat(70 * 1024));
    for body in [
        padded.to_string(),
        "not json".to_string(),
        r#"{"keys": []}"#.to_string(),
    ] {
        let keys = key_server(body).await;
        let client_id = jwks_uri_client(&app, &keys.url).await;
        let response = token_with(&app, &client_assertion(&app, &pair, "k", &client_id, "j")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            json_error(&response.json().await.unwrap()),
            "invalid_client"
        );
        assert_eq!(keys.hits.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_client_registers_a_jwks_uri_over_rfc_7591_and_authenticates_with_it() {
    let app = spawn_app_with(|s| {
        s.allow_private_callbacks = true;
        s.registration = tessera::config::RegistrationPolicy::Open;
    })
    .await;
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let keys = key_server(public_jwks(&pair, "k")).await;
    let response = http()
        .post(app.url("/register"))
        .json(&json!({
            "grant_types": ["client_credentials"],
            "response_types": [],
            "scope": "api:read",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": keys.url,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["jwks_uri"], json!(keys.url));
    assert!(registered.get("client_secret").is_none());
    let client_id = registered["client_id"].as_str().unwrap();
    let response = token_with(&app, &client_assertion(&app, &pair, "k", client_id, "j")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}
