#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A PostgreSQL outage: the server reaches its database through a TCP proxy that the test
//! cuts (every open connection closed, new ones dropped at once) and restores. Requests that
//! need the database answer 503 in bounded time, nothing is half-written, and the server
//! recovers by itself.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;
use crate::tokens::code_flow_tokens;

/// Forwards 127.0.0.1:<port> to `upstream` while up.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    up: Arc<AtomicBool>,
    /// While set, connections stay open but nothing is forwarded: a database that hangs.
    frozen: watch::Sender<bool>,
    /// Bumped on every cut: each forwarding task ends when it changes.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    pub(crate) async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (frozen, _) = watch::channel(false);
        let (accept_up, accept_cuts, accept_frozen) = (up.clone(), cuts.clone(), frozen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if !accept_up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut = accept_cuts.subscribe();
                let mut frozen = accept_frozen.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    loop {
                        // Frozen: hold both sockets open and move no byte until thawed.
                        if *frozen.borrow_and_update() {
                            if frozen.changed().await.is_err() {
                                return;
                            }
                            continue;
                        }
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                            _ = cut.changed() => return,
                            _ = frozen.changed() => {}
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            up,
            frozen,
            cuts,
        }
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }

    pub(crate) fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub(crate) fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// A served app on PostgreSQL reached through a [`Proxy`], with a user, a client and the
/// tokens of one code flow.
struct Proxied {
    app: TestApp,
    proxy: Proxy,
    client: Registered,
    tokens: Value,
    _server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// A served app on PostgreSQL behind a [`Proxy`]; `None` without
/// `TESSERA_TEST_POSTGRES_URL` (a SQLite file cannot be cut off from outside).
pub(crate) async fn proxied_server() -> Option<(
    TestApp,
    Proxy,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
)> {
    if std::env::var("TESSERA_TEST_POSTGRES_URL").map_or(true, |u| u.is_empty()) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let direct = url::Url::parse(&fresh_database_url(dir.path()).await).unwrap();
    let upstream = format!(
        "{}:{}",
        direct.host_str().unwrap(),
        direct.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(upstream).await;
    let mut proxied = direct.clone();
    proxied.set_port(Some(proxy.port)).unwrap();
    let (app, server) = spawn_served(Serving {
        database_url: Some(proxied.to_string()),
        ..Serving::default()
    })
    .await;
    Some((app, proxy, server, dir))
}

/// [`proxied_server`] with a user, a client and the tokens of one code flow.
async fn proxied_app() -> Option<Proxied> {
    let (app, proxy, server, dir) = proxied_server().await?;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let tokens = code_flow_tokens(&app, &client, "openid offline_access").await;
    Some(Proxied {
        app,
        proxy,
        client,
        tokens,
        _server: server,
        _dir: dir,
    })
}

fn timed_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_in_bounded_time_and_the_server_recovers() {
    let Some(Proxied {
        app,
        proxy,
        client,
        tokens,
        _server,
        _dir,
    }) = proxied_app().await
    else {
        eprintln!("skipped: needs TESSERA_TEST_POSTGRES_URL");
        return;
    };
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let browser = Browser::new(&app);
    let authorize = app.authorize_url(&client.client_id, "openid").to_string();
    // A signed-in browser: during the outage its session cannot be read.
    let outcome = browser
        .journey(&authorize, Some(("alice", PASSWORD)), "allow")
        .await;
    assert!(outcome.param("code").is_some(), "{outcome:?}");

    proxy.cut();
    let http = timed_client();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    for _ in 0..3 {
        let started = Instant::now();
        let response = http
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&refresh_form)
            .send()
            .await
            .expect("the token request hung");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json_error(&json), "temporarily_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );

        let response = http
            .post(app.url("/introspect"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&[("token", access_token.as_str())])
            .send()
            .await
            .expect("the introspection request hung");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            json_error(&response.json().await.unwrap()),
            "temporarily_unavailable"
        );

        let response = browser
            .client
            .get(&authorize)
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .expect("the page hung");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.text().await.unwrap().contains("<html"));
    }
    // The process serves what needs no database meanwhile.
    let response = http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    proxy.restore();
    // Recovers by itself, and the refresh token the failed requests presented is still the
    // live one: the rotation they attempted left nothing behind.
    let deadline = Instant::now() + Duration::from_secs(20);
    let rotated = loop {
        let response = http
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&refresh_form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        if status == StatusCode::OK {
            break json;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let (status, _) = refresh(
        &app,
        &client,
        rotated["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = browser.client.get(&authorize).send().await.unwrap();
    assert_ne!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_hangs_costs_a_bounded_wait_then_503_and_the_server_recovers() {
    let Some(Proxied {
        app,
        proxy,
        client,
        tokens,
        _server,
        _dir,
    }) = proxied_app().await
    else {
        eprintln!("skipped: needs TESSERA_TEST_POSTGRES_URL");
        return;
    };
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // The database accepts bytes and never answers: no error, no closed connection.
    proxy.freeze(true);
    let started = Instant::now();
    let response = http
        .post(app.url("/token"))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .form(&refresh_form)
        .send()
        .await
        .expect("the token request hung");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "temporarily_unavailable"
    );
    let waited = started.elapsed();
    assert!(
        waited <= tessera::guard::HANDLER_TIMEOUT + Duration::from_secs(3),
        "{waited:?}"
    );

    proxy.freeze(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = http
            .post(app.url("/token"))
            .basic_auth(&client.client_id, client.secret.as_deref())
            .form(&refresh_form)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
