#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The audit log: every kind of event, done through the real HTTP API or the real CLI binary,
//! lands in `audit_events` and in the log with its client, user, IP, user agent and request
//! id — and neither the log nor the table holds any secret the test used.
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;
use tessera::audit::{AuditEvent, Kind};
use tessera::clock::Clock;
use tessera::config::RegistrationPolicy;
use tessera::storage::audit::{self as store, AuditRow, Filter, NewAuditRow};

use crate::helpers::*;

const USER_AGENT: &str = "audit-test-agent/1.0";

/// A browser that names itself, so the events can be checked for its user agent.
fn browser(app: &TestApp) -> Browser {
    Browser {
        client: reqwest::Client::builder()
            .redirect(Policy::none())
            .cookie_store(true)
            .user_agent(USER_AGENT)
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

/// Every event written so far, oldest first.
async fn rows(app: &TestApp) -> Vec<AuditRow> {
    app.state.audit.flush().await;
    let mut rows = store::list(
        &app.state.db,
        &Filter {
            limit: 10_000,
            ..Filter::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("listing audit_events: {e}"));
    rows.reverse();
    rows
}

fn of_kind<'a>(rows: &'a [AuditRow], kind: &str) -> Vec<&'a AuditRow> {
    rows.iter().filter(|r| r.kind == kind).collect()
}

/// The one event of `kind` for which `matches` holds.
fn one<'a>(rows: &'a [AuditRow], kind: &str, matches: impl Fn(&AuditRow) -> bool) -> &'a AuditRow {
    let found: Vec<_> = of_kind(rows, kind)
        .into_iter()
        .filter(|r| matches(r))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} event expected in {rows:#?}");
    found[0]
}

/// An event recorded in a request from our test browser or HTTP client: the socket address,
/// the user agent when one was sent, a request id, and its log line under that id.
fn assert_from_request(row: &AuditRow, user_agent: Option<&str>) {
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"), "{row:?}");
    assert_eq!(row.user_agent.as_deref(), user_agent, "{row:?}");
    let request_id = row.request_id.as_deref().expect("a request id");
    assert_logged(row, request_id);
}

/// The event's log line: target `audit`, its kind, found by `needle` (a request id or an id
/// only this event carries).
fn assert_logged(row: &AuditRow, needle: &str) {
    let lines: Vec<String> = crate::logs::lines_with(needle)
        .into_iter()
        .filter(|l| l.contains("audit") && l.contains(&format!("kind=\"{}\"", row.kind)))
        .collect();
    assert!(!lines.is_empty(), "no audit log line for {row:?}");
}

/// No secret in the whole captured log nor in any audit row.
async fn assert_no_secret(app: &TestApp, secrets: &[String]) {
    let log = crate::logs::lines_with("");
    let table: Vec<String> = rows(app).await.iter().map(|r| format!("{r:?}")).collect();
    for secret in secrets {
        assert!(secret.len() >= 8, "too short to search for: {secret}");
        // The offending line or row is shown: a failure must say where the secret leaked.
        if let Some(line) = log.iter().find(|l| l.contains(secret.as_str())) {
            panic!("the log holds a secret: {secret} in {line}");
        }
        if let Some(row) = table.iter().find(|r| r.contains(secret.as_str())) {
            panic!("audit_events holds a secret: {secret} in {row}");
        }
    }
}

async fn post_basic_ua(
    app: &TestApp,
    path: &str,
    client: &Registered,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http()
        .post(app.url(path))
        .basic_auth(&client.client_id, client.secret.as_deref())
        .header("user-agent", USER_AGENT)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn login_page(
    browser: &Browser,
    app: &TestApp,
    client: &Registered,
    user: &str,
    password: &str,
) -> Outcome {
    let url = app.authorize_url(&client.client_id, "openid profile");
    browser
        .journey(url.as_str(), Some((user, password)), "allow")
        .await
}

#[tokio::test]
async fn logins_consent_tokens_reuse_revocation_and_logout_are_audited_without_secrets() {
    let app = spawn_app().await;
    let alice = app.add_user("alice").await;
    let carol = app.add_user("carol").await;
    tessera::storage::users::set_disabled(&app.state.db, "carol", true, app.clock.now())
        .await
        .unwrap();
    let web = app.add_client(spec("Web app")).await;
    let mut machine_spec = spec("Billing job");
    machine_spec.redirect_uris = vec![];
    machine_spec.grant_types = vec!["client_credentials".into()];
    machine_spec.scopes = vec!["api:read".into()];
    let machine = app.add_client(machine_spec).await;
    let mut secrets = vec![
        PASSWORD.to_string(),
        web.secret.clone().unwrap(),
        machine.secret.clone().unwrap(),
    ];

    // Three refused logins, each with its reason; then alice signs in and consents.
    let wrong = "Wrong-Password-7f3a9".to_string();
    let typed_as_username = "Typed-My-Password-Here-91c2".to_string();
    secrets.extend([wrong.clone(), typed_as_username.clone()]);
    for (user, password) in [
        ("alice", wrong.as_str()),
        (typed_as_username.as_str(), PASSWORD),
        ("carol", PASSWORD),
    ] {
        let outcome = login_page(&browser(&app), &app, &web, user, password).await;
        assert!(matches!(outcome, Outcome::Page(401, _)), "{outcome:?}");
    }
    let browser = browser(&app);
    let outcome = login_page(&browser, &app, &web, "alice", PASSWORD).await;
    let code = outcome.code();
    secrets.push(code.clone());

    // The code for tokens, a refresh, the rotated token again (reuse), revocations.
    let response = post_basic_ua(
        &app,
        "/token",
        &web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let first: Value = response.json().await.unwrap();
    let (status, second) =
        refresh(&app, &web, first["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = refresh(&app, &web, first["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for tokens in [&first, &second] {
        for name in ["access_token", "refresh_token", "id_token"] {
            if let Some(token) = tokens[name].as_str() {
                secrets.push(token.to_string());
            }
        }
    }

    // A second grant (the browser is still signed in), revoked token by token.
    let outcome = browser
        .journey(
            app.authorize_url(&web.client_id, "openid profile").as_str(),
            None,
            "allow",
        )
        .await;
    let code = outcome.code();
    secrets.push(code.clone());
    let third: Value = app.redeem_code(&web, &code).await.json().await.unwrap();
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(third[name].as_str().unwrap().to_string());
    }
    for name in ["refresh_token", "access_token"] {
        let response = post_basic_ua(
            &app,
            "/revoke",
            &web,
            &[("token", third[name].as_str().unwrap())],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    // A machine token.
    let response = post_basic_ua(
        &app,
        "/token",
        &machine,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let machine_token: Value = response.json().await.unwrap();
    secrets.push(machine_token["access_token"].as_str().unwrap().to_string());

    // RP-initiated logout with the ID token as hint.
    let mut logout = url::Url::parse(&app.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", third["id_token"].as_str().unwrap());
    let response = browser.client.get(logout).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let rows = rows(&app).await;
    let failures = of_kind(&rows, "login_failure");
    assert_eq!(failures.len(), 3, "{rows:#?}");
    let wrong_password = one(&rows, "login_failure", |r| {
        r.reason.as_deref() == Some("wrong_password")
    });
    assert_eq!(wrong_password.user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(wrong_password.username.as_deref(), Some("alice"));
    assert_eq!(
        wrong_password.client_id.as_deref(),
        Some(web.client_id.as_str())
    );
    assert_from_request(wrong_password, Some(USER_AGENT));
    let unknown = one(&rows, "login_failure", |r| {
        r.reason.as_deref() == Some("unknown_user")
    });
    assert!(unknown.user_id.is_none());
    assert!(
        unknown.username.as_deref().unwrap().starts_with("unknown:"),
        "{unknown:?}"
    );
    let disabled = one(&rows, "login_failure", |r| {
        r.reason.as_deref() == Some("disabled")
    });
    assert_eq!(disabled.user_id.as_deref(), Some(carol.id.as_str()));

    let success = one(&rows, "login_success", |_| true);
    assert_eq!(success.user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(success.client_id.as_deref(), Some(web.client_id.as_str()));
    assert_from_request(success, Some(USER_AGENT));
    let consent = one(&rows, "consent_given", |_| true);
    assert_eq!(consent.user_id.as_deref(), Some(alice.id.as_str()));
    assert_from_request(consent, Some(USER_AGENT));

    let issued = of_kind(&rows, "token_issued");
    let grants: Vec<_> = issued
        .iter()
        .map(|r| r.grant_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        grants,
        [
            "authorization_code",
            "refresh_token",
            "authorization_code",
            "client_credentials"
        ]
    );
    let by_code = issued[0];
    assert_eq!(by_code.user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(by_code.client_id.as_deref(), Some(web.client_id.as_str()));
    assert!(by_code.target.as_deref().unwrap().starts_with("family:"));
    assert_from_request(by_code, Some(USER_AGENT));
    assert_eq!(
        issued[1].target, by_code.target,
        "a refresh continues the family"
    );
    let jti = tessera::jose::jwt::verify(
        &app.state.keys,
        machine_token["access_token"].as_str().unwrap(),
        "at+jwt",
    )
    .unwrap()["jti"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        issued[3].target.as_deref(),
        Some(format!("jti:{jti}").as_str())
    );
    assert_eq!(
        issued[3].client_id.as_deref(),
        Some(machine.client_id.as_str())
    );
    assert!(issued[3].user_id.is_none());

    let reuse = one(&rows, "refresh_token_reuse", |_| true);
    assert_eq!(reuse.target, by_code.target);
    assert_eq!(reuse.user_id.as_deref(), Some(alice.id.as_str()));
    assert_from_request(reuse, None);

    let revoked_refresh = one(&rows, "revocation", |r| {
        r.reason.as_deref() == Some("refresh_token")
    });
    assert_eq!(revoked_refresh.target, issued[2].target);
    assert_from_request(revoked_refresh, Some(USER_AGENT));
    let revoked_access = one(&rows, "revocation", |r| {
        r.reason.as_deref() == Some("access_token")
    });
    assert!(revoked_access
        .target
        .as_deref()
        .unwrap()
        .starts_with("jti:"));
    assert_eq!(revoked_access.user_id.as_deref(), Some(alice.id.as_str()));

    let logout = one(&rows, "logout", |_| true);
    assert_eq!(logout.user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(logout.client_id.as_deref(), Some(web.client_id.as_str()));
    assert!(logout.target.as_deref().unwrap().starts_with("sid:"));
    assert_from_request(logout, Some(USER_AGENT));

    assert_no_secret(&app, &secrets).await;
}

#[tokio::test]
async fn dynamic_registration_update_and_deletion_are_audited_without_secrets() {
    let app = spawn_app_with(|s| s.registration = RegistrationPolicy::Open).await;
    let body = serde_json::json!({
        "client_name": "Registered app",
        "redirect_uris": [REDIRECT_URI],
    });
    let response = http()
        .post(app.url("/register"))
        .header("user-agent", USER_AGENT)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_string();
    let token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut secrets = vec![
        token.clone(),
        registered["client_secret"].as_str().unwrap().to_string(),
    ];
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let mut update = body.clone();
    update["client_id"] = client_id.clone().into();
    update["client_name"] = "Renamed app".into();
    let response = http()
        .put(&uri)
        .bearer_auth(&token)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    if let Some(secret) = updated["client_secret"].as_str() {
        secrets.push(secret.to_string());
    }
    let response = http()
        .delete(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let rows = rows(&app).await;
    let kinds: Vec<_> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["client_registered", "client_updated", "client_deleted"]
    );
    for row in &rows {
        assert_eq!(row.client_id.as_deref(), Some(client_id.as_str()));
        assert_eq!(
            row.reason.as_deref(),
            Some(if row.kind == "client_registered" {
                "rfc7591"
            } else {
                "rfc7592"
            })
        );
    }
    assert_from_request(&rows[0], Some(USER_AGENT));
    assert_from_request(&rows[2], None);
    assert_no_secret(&app, &secrets).await;
}

#[tokio::test]
async fn automatic_key_rotation_is_audited() {
    let app = spawn_app_with(|s| s.key_rotation_days = Some(1)).await;
    app.clock.advance(2 * 86_400);
    let mut found = None;
    for _ in 0..100 {
        found = rows(&app)
            .await
            .into_iter()
            .find(|r| r.kind == "key_rotated" && r.reason.as_deref() == Some("automatic"));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let row = found.expect("an automatic rotation event");
    let kid = row
        .target
        .as_deref()
        .unwrap()
        .strip_prefix("kid:")
        .unwrap()
        .to_string();
    let keys = tessera::storage::signing_keys::list(&app.state.db)
        .await
        .unwrap();
    assert!(
        keys.iter().any(|k| k.kid == kid && k.state == "next"),
        "{keys:?}"
    );
    assert!(
        row.request_id.is_none() && row.ip.is_none(),
        "not a request: {row:?}"
    );
    assert_logged(&row, &kid);
}

#[tokio::test]
async fn the_purge_removes_rows_older_than_the_retention_only() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let row = |at: i64, client: &'static str| NewAuditRow {
        at,
        kind: "token_issued",
        client_id: Some(client),
        user_id: None,
        username: None,
        ip: None,
        user_agent: None,
        request_id: None,
        reason: None,
        grant_type: Some("client_credentials"),
        target: None,
    };
    store::insert_batch(
        &app.state.db,
        &[
            row(now - 91 * 86_400, "old"),
            row(now - 89 * 86_400, "recent"),
            row(now, "new"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        tessera::audit::purge(&app.state.db, now, 0).await.unwrap(),
        0,
        "0 keeps all"
    );
    assert_eq!(
        tessera::audit::purge(&app.state.db, now, 90).await.unwrap(),
        1
    );
    let left: Vec<_> = rows(&app)
        .await
        .into_iter()
        .map(|r| r.client_id.unwrap())
        .collect();
    assert_eq!(left, ["recent", "new"]);
}

/// Every index costs each event an insert; the table keeps the one its queries need: `at` (the
/// purge, `--since`, newest first). `--client` and `--user` scan it newest first and stop at
/// their limit (an index on `user_id` alone could not serve `--user`'s OR anyway).
#[tokio::test]
async fn the_audit_table_has_only_the_indexes_its_queries_use() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = spawn_app().await;
    let backend = app.state.db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' \
             AND sql IS NOT NULL ORDER BY name"
        }
        _ => {
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'audit_events' \
             AND indexname NOT LIKE '%pkey' ORDER BY indexname"
        }
    };
    let names: Vec<String> = app
        .state
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    assert_eq!(names, ["idx-audit_events-at"], "{backend:?}");
}

/// A batch goes in as statements of a few fixed sizes (256, 32, 4, 1 rows): 293 + 37 rows
/// use every size, and each row must land exactly once, in order, with every value as it was
/// (quotes, backslashes and non-ASCII text included).
#[tokio::test]
async fn batches_of_any_size_insert_every_row_once_in_order() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let clients: Vec<String> = (0..330).map(|i| format!("c{i}")).collect();
    let users: Vec<String> = (0..330).map(|i| format!("u{i}")).collect();
    let requests: Vec<String> = (0..330).map(|i| format!("r{i}")).collect();
    let agent = r#"Agent "quoted" \ back\slash, ü and 😀"#;
    let row = |i: usize| NewAuditRow {
        at: now,
        kind: "token_issued",
        client_id: Some(&clients[i]),
        user_id: i.is_multiple_of(2).then(|| users[i].as_str()),
        username: None,
        ip: Some("127.0.0.1"),
        user_agent: Some(agent),
        request_id: Some(&requests[i]),
        reason: None,
        grant_type: Some("client_credentials"),
        target: Some(("jti:", &users[i])),
    };
    let first: Vec<_> = (0..293).map(row).collect();
    let second: Vec<_> = (293..330).map(row).collect();
    store::insert_batch(&app.state.db, &first).await.unwrap();
    store::insert_batch(&app.state.db, &second).await.unwrap();
    store::insert_batch(&app.state.db, &[]).await.unwrap();
    let mut stored: Vec<_> = rows(&app)
        .await
        .into_iter()
        .filter(|r| {
            r.request_id
                .as_deref()
                .is_some_and(|id| id.starts_with('r'))
        })
        .collect();
    stored.sort_by_key(|r| r.id);
    assert_eq!(stored.len(), 330);
    for (i, r) in stored.iter().enumerate() {
        assert_eq!(r.at, now);
        assert_eq!(r.kind, "token_issued");
        assert_eq!(
            r.client_id.as_deref(),
            Some(clients[i].as_str()),
            "row {i} in order"
        );
        assert_eq!(r.user_id.is_some(), i.is_multiple_of(2), "{r:?}");
        assert_eq!(r.username, None);
        assert_eq!(r.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(r.user_agent.as_deref(), Some(agent));
        assert_eq!(r.reason, None);
        assert_eq!(r.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(r.target.as_deref(), Some(format!("jti:u{i}").as_str()));
    }
}

/// On the test's single-threaded runtime the writer cannot run while the test records, so
/// what does not fit the channel is dropped — counted, logged, and the request never waits.
#[tokio::test]
async fn a_full_channel_drops_and_counts_events_instead_of_blocking() {
    let app = spawn_app().await;
    let capacity = 200;
    let audit = tessera::audit::Audit::with_capacity(
        app.state.db.clone(),
        app.state.clock.clone(),
        capacity,
    );
    let over = 25;
    let started = std::time::Instant::now();
    for _ in 0..capacity + over {
        audit.record(
            AuditEvent::new(Kind::TokenIssued)
                .client("flood-client")
                .grant_type("client_credentials"),
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(audit.dropped(), over as u64);
    audit.flush().await;
    let stored = store::list(
        &app.state.db,
        &Filter {
            client_id: Some("flood-client".into()),
            limit: 100_000,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(stored.len(), capacity);
    assert!(
        crate::logs::lines_with("events dropped")
            .iter()
            .any(|l| l.contains(&format!("dropped={over}"))),
        "the drop is logged"
    );
}

/// The real binary against the server's database (and master key).
async fn tessera(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let keys = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", keys.path())
        .env("TESSERA_MASTER_KEY", app.master_key())
        .env("TESSERA_LOG", "error")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

async fn audit_list(app: &TestApp, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "list", "--json"];
    args.extend_from_slice(filters);
    let (ok, stdout, stderr) = tessera(app, &args, &[]).await;
    assert!(ok, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cli_changes_are_audited_and_audit_list_filters_them() {
    let app = spawn_app().await;
    let alice = app.add_user("alice").await;
    let web = app.add_client(spec("Web app")).await;
    let outcome = login_page(&browser(&app), &app, &web, "alice", PASSWORD).await;
    let tokens: Value = app
        .redeem_code(&web, &outcome.code())
        .await
        .json()
        .await
        .unwrap();
    let mut secrets = vec![web.secret.clone().unwrap(), outcome.code()];
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(tokens[name].as_str().unwrap().to_string());
    }
    // The server's events are in the table before the CLI writes its own: the list below is
    // ordered by time and then by row, and both may fall in one second.
    app.state.audit.flush().await;

    // A client's life through the CLI, logged as JSON lines (stderr is a pipe: no colours).
    let json_log = [("TESSERA_LOG", "info"), ("TESSERA_LOG_FORMAT", "json")];
    let (ok, stdout, stderr) = tessera(
        &app,
        &[
            "client",
            "add",
            "--name",
            "Job",
            "--grant-type",
            "client_credentials",
            "--scope",
            "api:read",
            "--json",
        ],
        &json_log,
    )
    .await;
    assert!(ok, "{stderr}");
    let added: Value = serde_json::from_str(&stdout).unwrap();
    let job = added["client_id"].as_str().unwrap().to_string();
    secrets.push(added["client_secret"].as_str().unwrap().to_string());
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr}");
    let line: Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "audit")
        .unwrap_or_else(|| panic!("a JSON audit line in {stderr}"));
    assert_eq!(line["fields"]["kind"], "client_registered");
    assert_eq!(line["fields"]["client_id"], job.as_str());

    let (ok, _, stderr) = tessera(
        &app,
        &["client", "update", "--client-id", &job, "--name", "Job 2"],
        &[("TESSERA_LOG", "info")],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("kind=\"client_updated\"") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
    let (ok, stdout, stderr) = tessera(
        &app,
        &["client", "rotate-secret", "--client-id", &job, "--json"],
        &[],
    )
    .await;
    assert!(ok, "{stderr}");
    let rotated: Value = serde_json::from_str(&stdout).unwrap();
    secrets.push(rotated["client_secret"].as_str().unwrap().to_string());
    let (ok, _, stderr) = tessera(&app, &["client", "remove", "--client-id", &job], &[]).await;
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) =
        tessera(&app, &["keys", "rotate", "--alg", "ES256", "--json"], &[]).await;
    assert!(ok, "{stderr}");
    let rotation: Value = serde_json::from_str(&stdout).unwrap();
    let kid = rotation[0]["kid"].as_str().unwrap().to_string();
    let (ok, _, stderr) = tessera(
        &app,
        &[
            "user",
            "revoke-consent",
            "--username",
            "alice",
            "--client-id",
            &web.client_id,
        ],
        &[],
    )
    .await;
    assert!(ok, "{stderr}");
    let (status, _) = refresh(&app, &web, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "withdrawing consent revokes the grant"
    );
    let (ok, _, stderr) = tessera(&app, &["user", "sign-out", "--username", "alice"], &[]).await;
    assert!(ok, "{stderr}");

    // Everything, newest first.
    let all = audit_list(&app, &[]).await;
    assert_eq!(
        kinds(&all),
        [
            "logout",
            "consent_withdrawn",
            "key_rotated",
            "client_deleted",
            "client_updated",
            "client_updated",
            "client_registered",
            "token_issued",
            "consent_given",
            "login_success"
        ]
    );
    let withdrawn = &all[1];
    assert_eq!(withdrawn["user_id"], alice.id.as_str());
    assert_eq!(withdrawn["client_id"], web.client_id.as_str());
    assert_eq!(withdrawn["target"], "count:1");
    assert_eq!(all[2]["target"], format!("kid:{kid}").as_str());
    assert_eq!(all[2]["reason"], "cli");
    assert_eq!(all[0]["reason"], "cli_sign_out");
    assert_eq!(all[0]["username"], "alice");

    // Filters: by client, by user (id or name), since, limit.
    assert_eq!(
        kinds(&audit_list(&app, &["--client", &job]).await),
        [
            "client_deleted",
            "client_updated",
            "client_updated",
            "client_registered"
        ]
    );
    let by_name = kinds(&audit_list(&app, &["--user", "alice"]).await);
    assert_eq!(by_name, ["logout", "consent_withdrawn", "login_success"]);
    let by_id = kinds(&audit_list(&app, &["--user", &alice.id]).await);
    assert_eq!(
        by_id,
        [
            "logout",
            "consent_withdrawn",
            "token_issued",
            "consent_given",
            "login_success"
        ]
    );
    assert_eq!(
        kinds(&audit_list(&app, &["--limit", "2"]).await),
        ["logout", "consent_withdrawn"]
    );
    let future = (app.clock.now() + 86_400 * 365 * 10).to_string();
    assert!(audit_list(&app, &["--since", &future]).await.is_empty());
    assert_eq!(
        audit_list(&app, &["--since", "2000-01-01T00:00:00Z"])
            .await
            .len(),
        all.len()
    );
    let (ok, _, stderr) = tessera(&app, &["audit", "list", "--since", "yesterday"], &[]).await;
    assert!(!ok && stderr.contains("RFC 3339"), "{stderr}");
    let (ok, help, _) = tessera(&app, &["audit", "list", "--help"], &[]).await;
    assert!(
        ok && help.contains("--since") && !help.contains("--listen"),
        "{help}"
    );

    // The plain listing too.
    let (ok, table, _) = tessera(&app, &["audit", "list", "--client", &job], &[]).await;
    assert!(
        ok && table.starts_with("TIME") && table.contains("client_deleted"),
        "{table}"
    );

    let everything = serde_json::to_string(&all).unwrap();
    for secret in &secrets {
        assert!(
            !everything.contains(secret.as_str()),
            "audit list shows a secret"
        );
    }
    assert_no_secret(&app, &secrets).await;
}

/// SIGTERM right after a token is issued, well within the writer's batch interval: the
/// server flushes the event to the table and the (JSON) log before it exits.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_pending_events() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let run = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env("TESSERA_DATABASE_URL", &database_url)
            .env("TESSERA_KEYS_DIR", dir.path().join("keys"))
            .env("TESSERA_LOG", "error")
            .output()
    };
    let added = run(&[
        "client",
        "add",
        "--name",
        "Job",
        "--grant-type",
        "client_credentials",
        "--scope",
        "api:read",
        "--json",
    ])
    .await
    .unwrap();
    assert!(added.status.success());
    let added: Value = serde_json::from_slice(&added.stdout).unwrap();
    let job = Registered {
        client_id: added["client_id"].as_str().unwrap().into(),
        secret: added["client_secret"].as_str().map(str::to_string),
    };
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("serve")
        .env("TESSERA_DATABASE_URL", &database_url)
        .env("TESSERA_KEYS_DIR", dir.path().join("keys"))
        .env("TESSERA_ISSUER", &base)
        .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
        .env("TESSERA_LOG_FORMAT", "json")
        // Tests run side by side: none may take the default admin port.
        .env("TESSERA_ADMIN_LISTEN", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http().get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = http()
        .post(format!("{base}/token"))
        .basic_auth(&job.client_id, job.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the server did not exit")
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let issued = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["target"] == "audit" && l["fields"]["kind"] == "token_issued");
    assert!(issued.is_some(), "{stderr}");

    let listed = run(&["audit", "list", "--json", "--client", &job.client_id])
        .await
        .unwrap();
    let events: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        kinds(events.as_array().unwrap()),
        ["token_issued", "client_registered"]
    );
    assert_eq!(events[0]["grant_type"], "client_credentials");
}
