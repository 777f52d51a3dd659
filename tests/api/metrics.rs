#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The admin listener: `/metrics` parsed by a Prometheus text-format parser and counting
//! exactly what the test did, `/healthz`, `/readyz` following the database, and none of it
//! reachable on the public listener.
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use reqwest::StatusCode;
use tessera::telemetry;

use crate::helpers::*;
use crate::tokens::code_flow_tokens;

async fn scrape(app: &TestApp) -> Scrape {
    let response = http().get(app.admin_url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of the sample `name` with exactly these labels; None if there is none.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let sample = scrape.samples.iter().find(|s| {
        s.metric == name
            && s.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    })?;
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
        _ => panic!("{name} is not a single value"),
    }
}

/// How many observations the latency histogram holds for `route` (its `+Inf` bucket).
fn latency_count(scrape: &Scrape, route: &str) -> Option<f64> {
    scrape.samples.iter().find_map(|s| match &s.value {
        Value::Histogram(buckets)
            if s.metric.starts_with(telemetry::HTTP_DURATION)
                && s.labels.get("route") == Some(route) =>
        {
            buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map(|b| b.count)
        }
        _ => None,
    })
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let response = http()
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let stranger = Registered {
        client_id: "nobody".into(),
        secret: Some("wrong".into()),
    };
    for _ in 0..2 {
        let response = app
            .post_basic(
                "/token?ignored=1",
                &stranger,
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = http()
        .get(app.url("/no/such/page-7f3a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let scrape = scrape(&app).await;
    let requests = |route, status| {
        value(
            &scrape,
            telemetry::HTTP_REQUESTS,
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(
        requests("/.well-known/openid-configuration", "200"),
        Some(3.0)
    );
    assert_eq!(requests("/token", "401"), Some(2.0));
    assert_eq!(requests(telemetry::http::UNMATCHED, "404"), Some(1.0));
    assert_eq!(requests("/token", "200"), None, "nothing was issued");
    // Raw paths never become labels.
    assert!(
        scrape.samples.iter().all(|s| s
            .labels
            .get("route")
            .is_none_or(|r| !r.contains("7f3a") && !r.contains('?'))),
        "a raw path became a label"
    );
    assert_eq!(latency_count(&scrape, "/token"), Some(2.0));
    assert_eq!(
        latency_count(&scrape, "/.well-known/openid-configuration"),
        Some(3.0)
    );
    // Scrapes are not requests of the public listener.
    let again = self::scrape(&app).await;
    assert!(again
        .samples
        .iter()
        .all(|s| s.labels.get("route") != Some("/metrics")));
    assert_eq!(
        value(
            &again,
            telemetry::HTTP_REQUESTS,
            &[("route", "/token"), ("status", "401")]
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn tokens_issued_by_grant_login_failures_and_refresh_reuse_are_counted() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let mut machine = spec("Machine");
    machine.redirect_uris = vec![];
    machine.grant_types = vec!["client_credentials".into()];
    machine.scopes = vec!["api:read".into()];
    let machine = app.add_client(machine).await;

    let before = scrape(&app).await;
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        let issued = value(&before, telemetry::TOKENS_ISSUED, &[("grant_type", grant)]);
        assert_eq!(issued, Some(0.0), "{grant} is exported before any token");
    }
    assert_eq!(value(&before, telemetry::LOGIN_FAILURES, &[]), Some(0.0));
    assert_eq!(value(&before, telemetry::LOCKOUTS, &[]), Some(0.0));

    for _ in 0..2 {
        let response = app
            .post_basic(
                "/token",
                &machine,
                &[("grant_type", "client_credentials"), ("scope", "api:read")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let tokens = code_flow_tokens(&app, &client, "openid offline_access").await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, _) = refresh(&app, &client, first, None).await;
    assert_eq!(status, StatusCode::OK);
    // The rotated token again: a replay, refused, and the family revoked.
    let (status, _) = refresh(&app, &client, first, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let authorize = app.authorize_url(&client.client_id, "openid").to_string();
    for wrong in ["not the password", "nor this"] {
        let outcome = Browser::new(&app)
            .journey(&authorize, Some(("alice", wrong)), "allow")
            .await;
        assert!(matches!(outcome, Outcome::Page(401, _)), "{outcome:?}");
    }
    let outcome = Browser::new(&app)
        .journey(&authorize, Some(("mallory", PASSWORD)), "allow")
        .await;
    assert!(matches!(outcome, Outcome::Page(401, _)), "{outcome:?}");

    let after = scrape(&app).await;
    let issued = |grant| value(&after, telemetry::TOKENS_ISSUED, &[("grant_type", grant)]);
    assert_eq!(issued("client_credentials"), Some(2.0));
    assert_eq!(issued("authorization_code"), Some(1.0));
    assert_eq!(
        issued("refresh_token"),
        Some(1.0),
        "the replay issued nothing"
    );
    assert_eq!(value(&after, telemetry::REFRESH_REUSE, &[]), Some(1.0));
    assert_eq!(value(&after, telemetry::LOGIN_FAILURES, &[]), Some(3.0));
    assert_eq!(
        value(
            &after,
            telemetry::HTTP_REQUESTS,
            &[("route", "/login"), ("status", "401")]
        ),
        Some(3.0)
    );
}

#[tokio::test]
async fn pool_hashing_and_outbox_gauges_are_sampled_on_scrape() {
    let app = spawn_app().await;
    let scrape = scrape(&app).await;
    let max = value(&scrape, telemetry::DB_POOL_MAX, &[]).unwrap();
    let in_use = value(
        &scrape,
        telemetry::DB_POOL_CONNECTIONS,
        &[("state", "in_use")],
    )
    .unwrap();
    let idle = value(
        &scrape,
        telemetry::DB_POOL_CONNECTIONS,
        &[("state", "idle")],
    )
    .unwrap();
    assert!(max >= 1.0, "{max}");
    assert!(
        in_use + idle <= max && in_use + idle >= 1.0,
        "{in_use} {idle} {max}"
    );
    assert_eq!(value(&scrape, telemetry::HASH_WAITING, &[]), Some(0.0));
    assert_eq!(value(&scrape, telemetry::HASH_BUSY, &[]), Some(0.0));
    assert_eq!(
        value(&scrape, telemetry::BACKCHANNEL_PENDING, &[]),
        Some(0.0)
    );
    assert!(scrape.docs.contains_key(telemetry::TOKENS_ISSUED));
}

#[tokio::test]
async fn admin_endpoints_are_not_served_on_the_public_listener() {
    let app = spawn_app().await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let response = http().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = http().get(app.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http().get(app.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    // And the public routes are not on the admin listener.
    let response = http()
        .get(app.admin_url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// `tessera serve` starts the admin listener at `TESSERA_ADMIN_LISTEN`, and refuses to
/// start, naming the setting, when that address is taken.
#[tokio::test]
async fn the_binary_serves_the_admin_listener_where_configured() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let (port, admin_port) = (free_port().await, free_port().await);
    let base = format!("http://127.0.0.1:{port}");
    let database_url = fresh_database_url(dir.path()).await;
    let command = |listen: String, admin: String| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .arg("serve")
            .env("TESSERA_DATABASE_URL", &database_url)
            .env("TESSERA_KEYS_DIR", dir.path().join("keys"))
            .env("TESSERA_ISSUER", &base)
            .env("TESSERA_LISTEN", listen)
            .env("TESSERA_ADMIN_LISTEN", admin)
            .env("TESSERA_LOG", "error")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        command
    };
    let _server = command(
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{admin_port}"),
    )
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let admin = format!("http://127.0.0.1:{admin_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http().get(format!("{admin}/healthz")).send().await {
            assert_eq!(response.status(), StatusCode::OK);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the admin listener did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = http().get(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains(telemetry::TOKENS_ISSUED));
    let response = http().get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // A second server whose admin address is taken stops at once, saying which setting.
    let output = command(
        format!("127.0.0.1:{}", free_port().await),
        format!("127.0.0.1:{admin_port}"),
    )
    .stderr(std::process::Stdio::piped())
    .output()
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TESSERA_ADMIN_LISTEN"), "{stderr}");
    assert!(stderr.contains(&admin_port.to_string()), "{stderr}");
}

/// `/readyz` follows the database: 503 while PostgreSQL is cut off (behind a TCP proxy the
/// test cuts), 200 again once it is back; `/healthz` stays 200 throughout. PostgreSQL only,
/// like `outage.rs`: a SQLite file cannot be made unreachable from outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_goes_503_when_the_database_is_unreachable_and_back() {
    let Some((app, proxy, _server, _dir)) = crate::outage::proxied_server().await else {
        eprintln!("skipped: needs TESSERA_TEST_POSTGRES_URL");
        return;
    };
    let probe = |path: &'static str| {
        let url = app.admin_url(path);
        async move {
            let started = Instant::now();
            let response = reqwest::Client::new()
                .get(url)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .expect("the probe hung");
            (response.status(), started.elapsed())
        }
    };
    assert_eq!(probe("/readyz").await.0, StatusCode::OK);

    proxy.cut();
    for _ in 0..3 {
        let (status, took) = probe("/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(probe("/healthz").await.0, StatusCode::OK);
    }
    // A scrape during the outage still answers.
    let (status, took) = probe("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(5), "{took:?}");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe("/readyz").await.0 != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "not ready again after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
