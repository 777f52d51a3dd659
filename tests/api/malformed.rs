#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Malformed input to every endpoint gets a 4xx with the RFC's error, never a 5xx.
use reqwest::StatusCode;

use crate::helpers::*;

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let response = http()
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn protocol_endpoints_reject_malformed_bodies_with_json_errors() {
    let app = spawn_app().await;
    let form = "application/x-www-form-urlencoded";
    let long = format!("grant_type=client_credentials&scope={}", "a".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            br#"{"grant_type":"client_credentials"}"#.to_vec(),
        ),
        (
            form,
            b"grant_type=client_credentials&grant_type=refresh_token".to_vec(),
        ),
        (form, b"grant_type=client_credentials&scope=%FF%FE".to_vec()),
        (form, long.into_bytes()),
        (form, b"".to_vec()),
        (form, b"grant_type=urn:unknown".to_vec()),
    ];
    for path in ["/token", "/introspect", "/revoke"] {
        for (content_type, body) in &cases {
            let (status, text) = post_raw(&app, path, content_type, body.clone()).await;
            assert!(status.is_client_error(), "{path} {status} {text}");
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
            assert!(json["error"].is_string(), "{path}: {text}");
        }
    }
    let (status, text) = post_raw(
        &app,
        "/token",
        form,
        b"grant_type=client_credentials&grant_type=x".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("invalid_request"));
    // Oversized bodies are refused before parsing.
    let (status, _) = post_raw(&app, "/token", form, vec![b'a'; 200_000]).await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn authorize_and_pages_reject_malformed_input_without_5xx() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let id = client.client_id.as_str();
    let queries = [
        String::new(),
        format!("client_id={id}&client_id={id}"),
        format!("client_id={id}&redirect_uri=%FF"),
        format!(
            "client_id={id}&redirect_uri={}&response_type=token",
            urlencode(REDIRECT_URI)
        ),
        format!(
            "client_id={id}&redirect_uri={}&response_type=code&scope=openid&max_age=-1",
            urlencode(REDIRECT_URI)
        ),
        format!(
            "client_id={id}&redirect_uri={}&response_type=code&scope=admin",
            urlencode(REDIRECT_URI)
        ),
        format!("client_id={}", "x".repeat(9000)),
    ];
    for query in &queries {
        let response = http()
            .get(app.url(&format!("/authorize?{query}")))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_client_error() || status == StatusCode::SEE_OTHER,
            "{query}: {status}"
        );
        if let Some(location) = response.headers().get("location") {
            let location = location.to_str().unwrap();
            assert!(
                location.starts_with(REDIRECT_URI) && location.contains("error="),
                "{location}"
            );
        }
    }
    for path in [
        "/login",
        "/consent",
        "/login?request_id=nope",
        "/consent?request_id=%FF",
    ] {
        let response = http().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    for path in ["/login", "/consent", "/authorize"] {
        let (status, _) = post_raw(&app, path, "text/plain", b"\xff\xfe".to_vec()).await;
        assert!(status.is_client_error(), "{path}: {status}");
        let (status, _) = post_raw(
            &app,
            path,
            "application/x-www-form-urlencoded",
            b"a=%FF&a=1".to_vec(),
        )
        .await;
        assert!(status.is_client_error(), "{path}: {status}");
    }
    let response = http()
        .get(app.url("/userinfo"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = http().get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
