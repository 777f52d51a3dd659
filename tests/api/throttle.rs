#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Brute-force limits: delays and locks on the login form and on client authentication,
//! counted per (account, address), address and account; the real user at another address
//! during an attack; limits shared by instances (database and Redis); `X-Forwarded-For` only
//! from a trusted proxy; the bounded password-hashing queue. Client addresses are real: each
//! "address" is a socket bound to its own 127.0.0.0/8 address. Time moves by the test clock.
use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tessera::config::Settings;
use tessera::types::AuthMethod;

use crate::helpers::*;

/// Short limits: delays from the 2nd failure of a pair, a 60 s lock from the 4th; an
/// account is slowed from its 6th failure, by at most 5 s.
fn short_limits(s: &mut Settings) {
    s.login_delay_after = 2;
    s.login_lock_after = 4;
    s.login_lock_seconds = 60;
    s.login_max_delay = 8;
    s.login_ip_delay_after = 50;
    s.login_ip_lock_after = 100;
    s.login_account_delay_after = 6;
    s.login_account_max_delay = 5;
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An HTTP client whose connections come from `from`.
fn client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(from)
        .build()
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> Option<i64> {
    response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// What a login attempt got: status, `Retry-After`, page.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    retry_after: Option<i64>,
    body: String,
}

/// A browser at `from` opens an authorization request, reaches the login form and submits
/// these credentials.
async fn login_from(
    app: &TestApp,
    client_id: &str,
    from: IpAddr,
    user: &str,
    password: &str,
) -> Answer {
    let form = LoginForm::open(app, client_id, from).await;
    form.submit(user, password).await
}

struct LoginForm {
    http: reqwest::Client,
    action: String,
    csrf: String,
    request_id: String,
}

impl LoginForm {
    async fn open(app: &TestApp, client_id: &str, from: IpAddr) -> LoginForm {
        let http = client_from(from);
        let authorize = app.authorize_url(client_id, "openid");
        let response = http.get(authorize).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let login = url::Url::parse(&app.base).unwrap().join(&location).unwrap();
        assert_eq!(login.path(), "/login");
        let html = http.get(login).send().await.unwrap().text().await.unwrap();
        LoginForm {
            http,
            action: app.url("/login"),
            csrf: hidden_input(&html, "csrf_token").unwrap(),
            request_id: hidden_input(&html, "request_id").unwrap(),
        }
    }

    async fn submit(&self, user: &str, password: &str) -> Answer {
        let response = self
            .http
            .post(&self.action)
            .form(&[
                ("csrf_token", self.csrf.as_str()),
                ("request_id", &self.request_id),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        Answer {
            status: response.status(),
            retry_after: retry_after(&response),
            body: response.text().await.unwrap(),
        }
    }
}

fn signed_in(answer: &Answer) -> bool {
    answer.status.is_redirection()
}

/// The alert the login form shows when throttled.
fn throttled_alert(answer: &Answer) -> String {
    let doc = scraper::Html::parse_document(&answer.body);
    let alert = scraper::Selector::parse("[role=alert]").unwrap();
    let form = scraper::Selector::parse("form[action=\"/login\"]").unwrap();
    assert!(
        doc.select(&form).next().is_some(),
        "the same form: {}",
        answer.body
    );
    doc.select(&alert)
        .next()
        .map(|e| e.text().collect::<String>())
        .unwrap_or_default()
}

fn expect_login_wait(answer: &Answer, seconds: i64) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{answer:?}");
    assert_eq!(answer.retry_after, Some(seconds));
    assert_eq!(
        throttled_alert(answer),
        format!(
            "Too many failed sign-in attempts. Please wait {seconds} second{}, then try again.",
            if seconds == 1 { "" } else { "s" }
        )
    );
}

fn machine_spec() -> tessera::clients::ClientMetadata {
    let mut s = spec("Machine");
    s.redirect_uris = vec![];
    s.grant_types = vec!["client_credentials".into()];
    s.scopes = vec!["api:read".into()];
    s.auth_method = Some(AuthMethod::ClientSecretBasic);
    s
}

/// `client_credentials` at `/token` from `from`, with `secret`, and optional headers.
async fn token_from(
    app: &TestApp,
    client: &Registered,
    secret: &str,
    from: IpAddr,
    forwarded_for: Option<&str>,
) -> (StatusCode, Option<i64>, Value) {
    let mut request = client_from(from)
        .post(app.url("/token"))
        .basic_auth(&client.client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")]);
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let wait = retry_after(&response);
    (status, wait, response.json().await.unwrap())
}

fn too_many(seconds: i64) -> Value {
    json!({
        "error": "temporarily_unavailable",
        "error_description": format!("too many failed attempts; retry in {seconds} seconds"),
    })
}

fn advance(apps: &[&TestApp], seconds: i64) {
    for app in apps {
        app.clock.advance(seconds);
    }
}

#[tokio::test]
async fn login_form_delays_from_the_limit_then_locks_and_a_success_resets_the_count() {
    let app = spawn_app_with(short_limits).await;
    app.add_user("alice").await;
    let rp = app.add_client(spec("Web app")).await;
    let a = addr("127.0.0.2");

    for _ in 0..2 {
        let answer = login_from(&app, &rp.client_id, a, "alice", "wrong").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer
            .body
            .contains("The username or password is incorrect."));
    }
    // Two failures: the next attempt waits 1 s, even with the right password.
    expect_login_wait(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await,
        1,
    );
    // Case does not dodge the count.
    expect_login_wait(
        &login_from(&app, &rp.client_id, a, "ALICE", "wrong").await,
        1,
    );
    advance(&[&app], 1);
    let answer = login_from(&app, &rp.client_id, a, "alice", "wrong").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    expect_login_wait(
        &login_from(&app, &rp.client_id, a, "alice", "wrong").await,
        2,
    );
    advance(&[&app], 2);
    assert_eq!(
        login_from(&app, &rp.client_id, a, "alice", "wrong")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // The 4th failure locks for 60 s: the right password does not get in meanwhile.
    expect_login_wait(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await,
        60,
    );
    advance(&[&app], 59);
    expect_login_wait(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await,
        1,
    );
    advance(&[&app], 1);
    assert!(signed_in(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await
    ));

    // A success forgets the pair's failures: two more, then a success, then one failure is
    // only the first again (no delay follows it).
    for _ in 0..2 {
        assert_eq!(
            login_from(&app, &rp.client_id, a, "alice", "wrong")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    advance(&[&app], 1);
    assert!(signed_in(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await
    ));
    let answer = login_from(&app, &rp.client_id, a, "alice", "wrong").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(signed_in(
        &login_from(&app, &rp.client_id, a, "alice", PASSWORD).await
    ));
}

#[tokio::test]
async fn token_endpoint_delays_then_locks_with_the_rfc_error_at_every_authenticating_endpoint() {
    let app = spawn_app_with(short_limits).await;
    let machine = app.add_client(machine_spec()).await;
    let secret = machine.secret.clone().unwrap();
    let a = addr("127.0.0.3");

    for _ in 0..2 {
        let (status, _, body) = token_from(&app, &machine, "wrong", a, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
    }
    let (status, wait, body) = token_from(&app, &machine, &secret, a, None).await;
    assert_eq!((status, wait), (StatusCode::TOO_MANY_REQUESTS, Some(1)));
    assert_eq!(body, too_many(1));
    advance(&[&app], 1);
    assert_eq!(
        token_from(&app, &machine, "wrong", a, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    advance(&[&app], 2);
    assert_eq!(
        token_from(&app, &machine, "wrong", a, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, wait, body) = token_from(&app, &machine, &secret, a, None).await;
    assert_eq!((status, wait), (StatusCode::TOO_MANY_REQUESTS, Some(60)));
    assert_eq!(body, too_many(60));

    // Introspection and revocation authenticate the same way, so the lock holds there too.
    for path in ["/introspect", "/revoke"] {
        let response = client_from(a)
            .post(app.url(path))
            .basic_auth(&machine.client_id, Some(&secret))
            .form(&[("token", "anything")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(retry_after(&response), Some(60));
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            too_many(60),
            "{path}"
        );
    }
    // The same client from another address is not locked.
    let (status, _, body) = token_from(&app, &machine, &secret, addr("127.0.0.4"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    advance(&[&app], 60);
    let (status, _, body) = token_from(&app, &machine, &secret, a, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_attack_from_one_address_does_not_lock_out_the_user_at_another() {
    let app = spawn_app_with(short_limits).await;
    app.add_user("bob").await;
    let rp = app.add_client(spec("Web app")).await;
    let attacker = addr("127.0.0.5");
    // The attacker fails until locked, waiting out each delay.
    let mut failures = 0;
    loop {
        let answer = login_from(&app, &rp.client_id, attacker, "bob", "guess").await;
        match answer.status {
            StatusCode::UNAUTHORIZED => failures += 1,
            StatusCode::TOO_MANY_REQUESTS if answer.retry_after == Some(60) => break,
            StatusCode::TOO_MANY_REQUESTS => advance(&[&app], answer.retry_after.unwrap()),
            other => panic!("{other}: {answer:?}"),
        }
    }
    assert_eq!(failures, 4);
    // Bob, from home, gets in at once.
    let answer = login_from(&app, &rp.client_id, addr("127.0.0.6"), "bob", PASSWORD).await;
    assert!(signed_in(&answer), "{answer:?}");
    // And the attacker is still locked.
    let answer = login_from(&app, &rp.client_id, attacker, "bob", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_many_address_attack_slows_the_account_but_never_locks_it() {
    let app = spawn_app_with(short_limits).await;
    app.add_user("carol").await;
    let rp = app.add_client(spec("Web app")).await;
    let mut failures = 0;
    let mut slowed = 0;
    for i in 0..24u8 {
        let from = addr(&format!("127.0.1.{}", i + 1));
        loop {
            let answer = login_from(&app, &rp.client_id, from, "carol", "guess").await;
            match answer.status {
                StatusCode::UNAUTHORIZED => {
                    failures += 1;
                    break;
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = answer.retry_after.unwrap();
                    assert!((1..=5).contains(&wait), "bounded per-account delay: {wait}");
                    slowed += 1;
                    advance(&[&app], wait);
                }
                other => panic!("{other}: {answer:?}"),
            }
        }
    }
    assert_eq!(failures, 24);
    assert!(
        slowed >= 24 - 6,
        "every attempt after the 6th waited: {slowed}"
    );
    // The real user, at a fresh address, waits at most the account's delay and gets in.
    let user = addr("127.0.2.1");
    let mut answer = login_from(&app, &rp.client_id, user, "carol", PASSWORD).await;
    if answer.status == StatusCode::TOO_MANY_REQUESTS {
        let wait = answer.retry_after.unwrap();
        assert!(wait <= 5, "{wait}");
        assert!(!throttled_alert(&answer).is_empty());
        advance(&[&app], wait);
        answer = login_from(&app, &rp.client_id, user, "carol", PASSWORD).await;
    }
    assert!(signed_in(&answer), "{answer:?}");
}

/// A second instance on `a`'s database and issuer, configured by `configure` too.
async fn second_instance(a: &TestApp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let issuer = a.settings.issuer.clone();
    let master = a.master_key();
    let database_url = a.settings.database_url.clone();
    let b = spawn_app_with(move |s| {
        s.issuer = issuer;
        s.master_key = Some(tessera::secrets::Secret(master));
        s.database_url = database_url;
        configure(s);
    })
    .await;
    // Both test clocks show the same second, as the system clocks of two hosts would.
    use tessera::clock::Clock;
    b.clock.advance(a.clock.now() - b.clock.now());
    b
}

/// Fails on `a` until the pair is delayed, sees `b` refuse within a second or so (its poll),
/// then locks on `b` and sees `a` refuse with the lock's wait.
async fn limits_hold_across(a: &TestApp, b: &TestApp) {
    let machine = a.add_client(machine_spec()).await;
    let secret = machine.secret.clone().unwrap();
    let from = addr("127.0.0.7");
    for _ in 0..2 {
        assert_eq!(
            token_from(a, &machine, "wrong", from, None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        token_from(a, &machine, &secret, from, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let started = Instant::now();
    loop {
        let (status, wait, body) = token_from(b, &machine, &secret, from, None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(wait, Some(1));
            assert_eq!(body, too_many(1));
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "b never saw a's failures"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    advance(&[a, b], 1);
    assert_eq!(
        token_from(b, &machine, "wrong", from, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    advance(&[a, b], 2);
    assert_eq!(
        token_from(b, &machine, "wrong", from, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // b's failures count on top of a's: the 4th locks, and a knows within a poll.
    let started = Instant::now();
    loop {
        let (status, wait, _) = token_from(a, &machine, &secret, from, None).await;
        if wait == Some(60) {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a never saw b's lock: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Elsewhere the client still works on both.
    for app in [a, b] {
        assert_eq!(
            token_from(app, &machine, &secret, addr("127.0.0.8"), None)
                .await
                .0,
            StatusCode::OK
        );
    }
}

async fn counter_rows(app: &TestApp) -> u64 {
    entity::throttle_counters::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn limits_are_shared_by_two_instances_on_one_database() {
    let a = spawn_app_with(short_limits).await;
    let b = second_instance(&a, short_limits).await;
    limits_hold_across(&a, &b).await;
    assert_eq!(counter_rows(&a).await, 3, "pair, address and account");
}

#[tokio::test]
async fn limits_are_shared_by_two_instances_through_redis() {
    // A prefix of this test's own, so that tests (and CI runs) never see each other's keys.
    let prefix = format!("tessera-test-{}:", tessera::secrets::random_token(9));
    let with_redis = |prefix: String| {
        move |s: &mut Settings| {
            short_limits(s);
            s.redis_url = Some(tessera::secrets::Secret("redis://127.0.0.1:6379".into()));
            s.redis_prefix = prefix;
        }
    };
    let a = spawn_app_with(with_redis(prefix.clone())).await;
    let b = second_instance(&a, with_redis(prefix.clone())).await;
    limits_hold_across(&a, &b).await;
    assert_eq!(counter_rows(&a).await, 0, "nothing in the database");
    let redis = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 4, "three counters and the recent set: {keys:?}");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    let app = spawn_app_with(|s| {
        short_limits(s);
        s.login_account_delay_after = 1000;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let machine = app.add_client(machine_spec()).await;
    let secret = machine.secret.clone().unwrap();
    let proxy = addr("127.0.0.1");
    // Through the trusted proxy, the address it forwards is the one counted; an address
    // the client wrote further left is ignored.
    let attacker = Some("203.0.113.50, 198.51.100.1");
    for _ in 0..2 {
        assert_eq!(
            token_from(&app, &machine, "wrong", proxy, attacker).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        token_from(&app, &machine, &secret, proxy, Some("198.51.100.1"))
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _, body) = token_from(&app, &machine, &secret, proxy, Some("198.51.100.2")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another client behind the proxy: {body}"
    );

    // From an untrusted peer the header is ignored: the peer itself is counted.
    let direct = addr("127.0.0.9");
    for i in 0..2 {
        let forged = format!("198.51.100.{}", 10 + i);
        assert_eq!(
            token_from(&app, &machine, "wrong", direct, Some(&forged))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, wait, _) =
        token_from(&app, &machine, &secret, direct, Some("198.51.100.99")).await;
    assert_eq!((status, wait), (StatusCode::TOO_MANY_REQUESTS, Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_refuses_logins_at_once_with_503_and_other_endpoints_stay_fast() {
    let app = spawn_app_with(|s| {
        s.password_concurrency = Some(1);
        s.password_queue = 1;
    })
    .await;
    app.add_user("dave").await;
    let rp = app.add_client(spec("Web app")).await;
    let mut forms = Vec::new();
    for _ in 0..12 {
        forms.push(LoginForm::open(&app, &rp.client_id, addr("127.0.0.1")).await);
    }
    let flood = futures::future::join_all(forms.iter().map(|form| async move {
        let started = Instant::now();
        let answer = form.submit("dave", PASSWORD).await;
        (answer, started.elapsed())
    }));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        let response = http()
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        started.elapsed()
    };
    let (answers, probe_time) = tokio::join!(flood, probe);
    let busy: Vec<_> = answers
        .iter()
        .filter(|(a, _)| a.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    let served = answers.iter().filter(|(a, _)| signed_in(a)).count();
    assert!(
        !busy.is_empty(),
        "one hashing, one waiting: the rest are refused"
    );
    assert!(
        served >= 2,
        "the running and the queued login complete: {served}"
    );
    assert_eq!(busy.len() + served, answers.len(), "{answers:?}");
    for (answer, took) in &busy {
        assert_eq!(answer.retry_after, Some(2));
        assert!(
            answer.body.contains("Too many sign-ins at once"),
            "{}",
            answer.body
        );
        assert!(*took < Duration::from_secs(2), "refused at once: {took:?}");
    }
    assert!(
        probe_time < Duration::from_millis(500),
        "discovery during the flood: {probe_time:?}"
    );
}

/// A TCP proxy to the local Redis that the test cuts by sending `true`: the listener closes
/// and every connection through it ends.
async fn cuttable_redis() -> (u16, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, watch) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        loop {
            let mut stop = watch.clone();
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|cut| *cut) => return,
            };
            let Ok((mut inbound, _)) = accepted else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = stop.wait_for(|cut| *cut) => {}
                }
            });
        }
    });
    (port, cut)
}

#[tokio::test]
async fn a_success_with_no_recent_failure_touches_no_store_and_an_outage_is_a_bounded_503() {
    let (port, cut) = cuttable_redis().await;
    let prefix = format!("tessera-test-{}:", tessera::secrets::random_token(9));
    let app = spawn_app_with(move |s| {
        short_limits(s);
        s.redis_url = Some(tessera::secrets::Secret(format!(
            "redis://127.0.0.1:{port}"
        )));
        s.redis_prefix = prefix;
    })
    .await;
    let machine = app.add_client(machine_spec()).await;
    let secret = machine.secret.clone().unwrap();
    let from = addr("127.0.0.10");
    assert_eq!(
        token_from(&app, &machine, &secret, from, None).await.0,
        StatusCode::OK
    );
    cut.send(true).unwrap();
    // Redis is gone: a success still needs nothing from it (no read, no write).
    for _ in 0..3 {
        let (status, _, body) = token_from(&app, &machine, &secret, from, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A failure must be counted, which it cannot be: 503, within the Redis timeouts.
    let started = Instant::now();
    let (status, _, body) = token_from(&app, &machine, "wrong", from, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
