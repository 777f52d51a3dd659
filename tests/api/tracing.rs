#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Traceable failures: every response names its request id, and every refusal is logged
//! once, inside the request's span, with the check that refused it — which the client never
//! sees.
use reqwest::StatusCode;

use crate::helpers::*;
use crate::logs;
use crate::tokens::code_flow_tokens;

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("x-request-id on every response")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_response_carries_a_distinct_request_id() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/.well-known/openid-configuration",
        "/jwks",
        "/nowhere",
        "/login",
    ] {
        let response = http().get(app.url(path)).send().await.unwrap();
        assert!(seen.insert(request_id(&response)), "{path}");
    }
    // An id set by a proxy in front is kept, so both logs can be joined.
    let response = http()
        .get(app.url("/jwks"))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&response), "from-the-proxy-1");
}

/// The security headers and the request id are on every kind of response: a JSON document,
/// an OAuth error, a page, the 404 fallback, a wrong method and a refused body — and a
/// response's own Content-Security-Policy is kept.
#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let client = http();
    let responses = [
        (
            "discovery",
            client.get(app.url("/.well-known/openid-configuration")),
        ),
        (
            "token error",
            client.post(app.url("/token")).form(&[("grant_type", "x")]),
        ),
        ("login page", client.get(app.url("/login"))),
        ("404", client.get(app.url("/nowhere"))),
        ("405", client.delete(app.url("/token"))),
        (
            "413",
            client.post(app.url("/token")).body(vec![b'a'; 70_000]),
        ),
    ];
    for (what, request) in responses {
        let response = request.send().await.unwrap();
        assert!(
            response.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "{what}"
        );
        let headers = response.headers();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{what}: {name}"
            );
        }
        assert!(headers.contains_key("content-security-policy"), "{what}");
        assert!(headers.contains_key("x-request-id"), "{what}");
        assert_eq!(
            headers.get_all("x-content-type-options").iter().count(),
            1,
            "{what}: set once"
        );
    }
}

#[tokio::test]
async fn a_refused_refresh_is_logged_with_its_route_request_id_and_cause_only() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let first = code_flow_tokens(&app, &client, "openid offline_access").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let (status, _) = refresh(&app, &client, &r1, None).await;
    assert_eq!(status, StatusCode::OK);

    let response = app
        .post_basic(
            "/token",
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
    let id = request_id(&response);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("replay"),
        "the cause is for the log only: {body}"
    );

    let lines = logs::lines_with(&id);
    let refused: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("request refused"))
        .collect();
    assert_eq!(refused.len(), 1, "logged once: {lines:#?}");
    let line = refused[0];
    assert!(line.contains("route=/token"), "{line}");
    assert!(line.contains("invalid_grant"), "{line}");
    assert!(line.contains("replay of a rotated generation"), "{line}");
    assert!(!line.contains(&r1), "no token in the log: {line}");
}

#[tokio::test]
async fn each_failed_client_authentication_logs_which_check_refused_it() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let wrong = Registered {
        client_id: client.client_id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let unknown = Registered {
        client_id: "nobody".into(),
        secret: Some("x".into()),
    };
    for (caller, cause) in [
        (&wrong, "wrong client secret"),
        (&unknown, "unknown client_id"),
    ] {
        let response = app
            .post_basic("/token", caller, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let id = request_id(&response);
        let body = response.text().await.unwrap();
        assert!(!body.contains(cause), "{body}");
        let lines = logs::lines_with(&id);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(cause) && l.contains("invalid_client")),
            "{cause}: {lines:#?}"
        );
        assert!(lines.iter().all(|l| !l.contains("not-the-secret")));
    }
}
