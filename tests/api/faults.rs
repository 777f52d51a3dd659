#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Faults: oversized bodies, a panicking handler, shutdown with requests in flight, and a
//! database that goes away and comes back.
use std::time::{Duration, Instant};

use axum::routing::get;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

#[tokio::test]
async fn an_oversized_body_gets_a_413_the_client_reads_every_time() {
    let app = spawn_app().await;
    let body = vec![b'a'; 2_000_000];
    for i in 0..100 {
        // A new connection every time: the answer must not depend on a warm one.
        let client = http();
        let response = client
            .post(app.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e:?}"));
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{i}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json_error(&json), "invalid_request", "{i}");
    }
    // On one kept-alive connection, a browser page, and a chunked body with no length.
    let client = http();
    for _ in 0..3 {
        let response = client
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(response.text().await.unwrap().contains("<html"));
    }
    // A chunked body with no length: refused once past the limit, still readable.
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(b"POST /revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 50_000, "a".repeat(50_000));
    for _ in 0..40 {
        stream.write_all(chunk.as_bytes()).await.unwrap();
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut head = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("invalid_request"), "{head}");
    let response = client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn oversized_and_slow_request_heads_are_refused() {
    let app = spawn_app().await;
    let response = http()
        .get(app.url("/healthz"))
        .header("x-big", "a".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let mut request = http().get(app.url("/healthz"));
    for i in 0..80 {
        request = request.header(format!("x-h{i}"), "1");
    }
    assert_eq!(
        request.send().await.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // A client that never finishes its request head is disconnected.
    let mut slow = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was held open");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
}

/// The head deadline runs from the previous answer, not from the connection's opening: a
/// keep-alive client that sends a request every 6 s keeps its connection past 10 s.
#[tokio::test]
async fn a_busy_keep_alive_connection_outlives_the_head_deadline() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    for i in 0..3 {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // The whole answer (head and `content-length` bytes of body), so that the next
        // read starts at the next answer.
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let complete = |answer: &[u8]| {
            let text = String::from_utf8_lossy(answer).to_ascii_lowercase();
            let head_end = text.find("\r\n\r\n")? + 4;
            let length: usize = text[..head_end]
                .split("content-length:")
                .nth(1)?
                .split("\r\n")
                .next()?
                .trim()
                .parse()
                .ok()?;
            (answer.len() >= head_end + length).then_some(())
        };
        while complete(&answer).is_none() {
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("request {i}: no answer"))
                .unwrap();
            assert!(n > 0, "request {i}: the connection was closed");
            answer.extend_from_slice(&buf[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 "), "request {i}");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_an_opaque_500_and_the_server_keeps_serving() {
    async fn boom() -> &'static str {
        panic!("secret detail of the panic")
    }
    let extra = axum::Router::new()
        .route("/boom", get(boom))
        .route("/.well-known/boom", get(boom));
    let (app, _server) = spawn_served(Serving {
        extra,
        ..Serving::default()
    })
    .await;
    let client = http();
    for _ in 0..3 {
        let response = client.get(app.url("/boom")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = response.text().await.unwrap();
        assert!(!text.contains("secret detail"), "{text}");
        let response = client
            .get(app.url("/.well-known/boom"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json_error(&json), "server_error");
        assert!(!json.to_string().contains("secret detail"));
        let response = client
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Sends a request head announcing `length` body bytes and only the first byte of the body.
async fn start_slow_request(base: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..1]).await.unwrap();
    stream
}

/// Sends the rest of the body and reads the whole response (the server closes after it).
async fn finish_slow_request(mut stream: TcpStream, body: &[u8]) -> String {
    stream.write_all(&body[1..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the response did not end")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_requests_in_flight() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, server) = spawn_served(Serving {
        shutdown: Box::pin(async move {
            let _ = stopped.await;
        }),
        ..Serving::default()
    })
    .await;
    let body = "grant_type=client_credentials&client_id=nobody&client_secret=x".to_string();
    let in_flight = start_slow_request(&app.base, body.as_bytes()).await;
    let mut idle = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // No new connections; the idle one is closed; the one in flight gets its answer.
    assert!(TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .is_err());
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("the idle connection stayed open")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(!server.is_finished());
    let response = finish_slow_request(in_flight, body.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("invalid_client"), "{response}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server did not stop after draining")
        .unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_the_binary_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATABASE_URL", fresh_database_url(dir.path()).await)
        .env("TESSERA_KEYS_DIR", dir.path().join("keys"))
        .env("TESSERA_ISSUER", &base)
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_ADMIN_LISTEN", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http().get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = b"grant_type=client_credentials&client_id=nobody&client_secret=x";
    let in_flight = start_slow_request(&base, body).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    let response = finish_slow_request(in_flight, body).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server did not exit")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn an_https_issuer_reached_over_plain_http_is_explained_on_the_expired_page() {
    let app = spawn_app_with(|s| s.issuer = "https://login.example.com".parse().unwrap()).await;
    let page = |proto: Option<&'static str>| {
        let mut request = http().get(app.url("/login?request_id=gone"));
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let direct = page(None).await;
    assert!(
        direct.contains("This sign-in is no longer in progress"),
        "{direct}"
    );
    assert!(
        direct.contains("open this server at https://login.example.com"),
        "{direct}"
    );
    let proxied = page(Some("https")).await;
    assert!(proxied.contains("This sign-in is no longer in progress"));
    assert!(!proxied.contains("open this server at"), "{proxied}");
}
