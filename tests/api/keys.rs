#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Signing-key rotation (next, active, retiring, retired) seen by a resource server that
//! verifies against the JWKS over HTTP, across instances and with the real CLI; keys sealed
//! at rest under the master key: the raw database holds none in clear, a wrong master key
//! refuses to start, and a database left by the previous version (keys in clear) is sealed
//! in place with everything still working.
use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tessera::clock::{Clock, FixedClock, SystemClock};
use tessera::jose::key_lifecycle::{self, LifecycleError};
use tessera::jose::keys::seal_label;
use tessera::jose::master_key::{pepper_label, upstream_label, PEPPER};
use tessera::storage::{server_keys, signing_keys, upstreams};

use crate::helpers::*;
use crate::tokens::introspect;

/// Runs the real `tessera` binary against the app's database, with its own keys directory
/// and the deployment's master key.
async fn cli(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let keys = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", keys.path())
        .env("TESSERA_MASTER_KEY", app.master_key())
        .env("TESSERA_ISSUER", &app.base)
        .env("TESSERA_LOG", "error")
        .stdin(std::process::Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn machine_spec() -> tessera::clients::ClientMetadata {
    let mut s = spec("Machine");
    s.redirect_uris = vec![];
    s.grant_types = vec!["client_credentials".into()];
    s.scopes = vec!["api:read".into()];
    s
}

/// An ES256 access token from client credentials.
async fn access_token(app: &TestApp, client: &Registered) -> String {
    let response = app
        .post_basic("/token", client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// What a resource server does: fetch the JWKS over HTTP, pick the key by `kid`, verify.
async fn verify_at(app: &TestApp, token: &str) -> Result<Value, String> {
    let jwks: jsonwebtoken::jwk::JwkSet = get_json(app.url("/jwks")).await;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or(format!("kid {kid} not in the JWKS"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[app.settings.issuer_str()]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|e| e.to_string())
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = get_json(app.url("/jwks")).await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `check` for up to a second (the promise: every instance within a second).
async fn within_a_second<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // The watcher polls every 200 ms: a second on an idle machine. The suite runs many tests at
    // once on 2 cores, so allow three before calling it a failure.
    within(60, check).await
}

/// Polls `check` every 50 ms, `tries` times.
async fn within<F, Fut>(tries: usize, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..tries {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn rows(app: &TestApp, alg: &str) -> Vec<signing_keys::SigningKeyRow> {
    signing_keys::list(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.alg == alg)
        .collect()
}

/// The one key of `alg` in `state` (keys made in the same second sort by kid, not by age).
async fn key_in(app: &TestApp, alg: &str, state: &str) -> signing_keys::SigningKeyRow {
    let rows = rows(app, alg).await;
    rows.into_iter()
        .find(|r| r.state == state)
        .unwrap_or_else(|| panic!("no {state} {alg} key"))
}

/// The states of `rows`, oldest first by lifecycle (keys made in the same second sort by
/// kid in the database, so their row order says nothing).
fn states(rows: &[signing_keys::SigningKeyRow]) -> Vec<&str> {
    let rank = |state: &str| {
        ["retired", "retiring", "active", "next"]
            .iter()
            .position(|s| *s == state)
    };
    let mut states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    states.sort_by_key(|s| rank(s));
    states
}

// The CLI runs as a child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_tokens_verify_while_retiring_and_fail_once_retired() {
    let app = spawn_app().await;
    let client = app.add_client(machine_spec()).await;
    let old_token = access_token(&app, &client).await;
    let old_kid = kid(&old_token);
    verify_at(&app, &old_token).await.unwrap();

    let (ok, out, err) = cli(
        &app,
        &["keys", "rotate", "--alg", "ES256", "--json"],
        &[("TESSERA_KEY_PUBLISH_AHEAD_SECONDS", "60")],
    )
    .await;
    assert!(ok, "{err}");
    let rotation: Value = serde_json::from_str(&out).unwrap();
    let new_kid = rotation[0]["kid"].as_str().unwrap().to_string();
    assert_eq!(rotation[0]["previous"], old_kid.as_str());
    assert_eq!(rotation[0]["promoted"], false);
    // Published ahead, not signing yet.
    let kids = jwks_kids(&app).await;
    assert!(
        kids.contains(&new_kid) && kids.contains(&old_kid),
        "{kids:?}"
    );
    assert_eq!(kid(&access_token(&app, &client).await), old_kid);

    // Its time comes: the instance promotes it, no CLI involved.
    app.clock.advance(120);
    let promoted =
        within_a_second(|| async { kid(&access_token(&app, &client).await) == new_kid }).await;
    assert!(promoted, "the next key was not promoted");
    assert_eq!(states(&rows(&app, "ES256").await), ["retiring", "active"]);
    let new_token = access_token(&app, &client).await;
    verify_at(&app, &new_token).await.unwrap();
    // Retiring: the old key's tokens still verify, for a resource server and for Tessera.
    verify_at(&app, &old_token).await.unwrap();
    assert_eq!(introspect(&app, &client, &old_token).await["active"], true);

    let (ok, _, err) = cli(&app, &["keys", "retire", &old_kid, "--force"], &[]).await;
    assert!(ok, "{err}");
    assert!(!jwks_kids(&app).await.contains(&old_kid));
    let refused = verify_at(&app, &old_token).await.unwrap_err();
    assert!(refused.contains("not in the JWKS"), "{refused}");
    assert_eq!(introspect(&app, &client, &old_token).await["active"], false);
    verify_at(&app, &new_token).await.unwrap();
    let row = signing_keys::find(&app.state.db, &old_kid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "retired");
    assert!(row.private_key.is_empty(), "a retired key is erased");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_picks_up_the_new_key_without_restart() {
    let a = spawn_app().await;
    let b = spawn_app_sharing(&a).await;
    let client = a.add_client(machine_spec()).await;
    let old_kid = kid(&access_token(&b, &client).await);

    let (ok, out, err) = cli(
        &a,
        &["keys", "rotate", "--alg", "ES256", "--now", "--json"],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    let rotation: Value = serde_json::from_str(&out).unwrap();
    let new_kid = rotation[0]["kid"].as_str().unwrap();
    // Once the command has returned, both instances sign with the new key and publish both.
    for app in [&a, &b] {
        let token = access_token(app, &client).await;
        assert_eq!(kid(&token), new_kid);
        let kids = jwks_kids(app).await;
        assert!(kids.contains(&old_kid) && kids.iter().any(|k| k == new_kid));
    }
    let from_a = access_token(&a, &client).await;
    assert_eq!(introspect(&b, &client, &from_a).await["active"], true);
    verify_at(&b, &from_a).await.unwrap();

    // A scheduled promotion happens once although both instances see it due.
    let (ok, _, err) = cli(
        &a,
        &["keys", "rotate", "--alg", "RS256"],
        &[("TESSERA_KEY_PUBLISH_AHEAD_SECONDS", "60")],
    )
    .await;
    assert!(ok, "{err}");
    a.clock.advance(120);
    b.clock.advance(120);
    let promoted =
        within_a_second(|| async { states(&rows(&a, "RS256").await) == ["retiring", "active"] })
            .await;
    assert!(promoted, "{:?}", states(&rows(&a, "RS256").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rotation_publishes_then_promotes_one_key_per_algorithm() {
    let configure = |s: &mut tessera::config::Settings| {
        s.key_rotation_days = Some(30);
        s.key_publish_ahead_seconds = 60;
    };
    let a = spawn_app_with(configure).await;
    let (db, issuer, master) = (
        a.settings.database_url.clone(),
        a.settings.issuer.clone(),
        a.master_key(),
    );
    let b = spawn_app_with(move |s| {
        configure(s);
        s.database_url = db;
        s.issuer = issuer;
        s.master_key = Some(tessera::secrets::Secret(master));
    })
    .await;
    a.clock.advance(30 * 86_400);
    b.clock.advance(30 * 86_400);
    for alg in ["RS256", "ES256"] {
        // Generating a key (RSA) takes a moment in a debug build: more than a second here.
        let published = within(200, || async {
            states(&rows(&a, alg).await) == ["active", "next"]
        })
        .await;
        assert!(published, "{alg}: {:?}", states(&rows(&a, alg).await));
    }
    a.clock.advance(120);
    b.clock.advance(120);
    for alg in ["RS256", "ES256"] {
        let promoted =
            within_a_second(|| async { states(&rows(&a, alg).await) == ["retiring", "active"] })
                .await;
        assert!(promoted, "{alg}: {:?}", states(&rows(&a, alg).await));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_refuses_active_next_unknown_and_keys_whose_tokens_may_be_valid() {
    let app = spawn_app().await;
    let active = key_in(&app, "ES256", "active").await.kid;
    let (ok, _, err) = cli(&app, &["keys", "rotate", "--alg", "ES256"], &[]).await;
    assert!(ok, "{err}");
    let next = key_in(&app, "ES256", "next").await.kid;

    let (ok, _, err) = cli(&app, &["keys", "rotate", "--alg", "ES256"], &[]).await;
    assert!(
        !ok && err.contains("already next") && err.contains("--now"),
        "{err}"
    );
    let (ok, _, err) = cli(&app, &["keys", "retire", &active], &[]).await;
    assert!(!ok && err.contains("active ES256 key"), "{err}");
    let (ok, _, err) = cli(&app, &["keys", "retire", &next], &[]).await;
    assert!(!ok && err.contains("is next"), "{err}");
    let (ok, _, err) = cli(&app, &["keys", "retire", "no-such-kid"], &[]).await;
    assert!(!ok && err.contains("no key with kid"), "{err}");

    // --now promotes the waiting key; the old one retires only once its tokens expired.
    let (ok, _, err) = cli(&app, &["keys", "rotate", "--alg", "ES256", "--now"], &[]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&app, &["keys", "retire", &active], &[]).await;
    assert!(
        !ok && err.contains("--force") && err.contains("3600 s"),
        "{err}"
    );
    assert_eq!(states(&rows(&app, "ES256").await), ["retiring", "active"]);
    // The only active key of an algorithm is never retired, not even with --force.
    let (ok, _, err) = cli(&app, &["keys", "retire", &next, "--force"], &[]).await;
    assert!(!ok && err.contains("active ES256 key"), "{err}");

    // After the longest token lifetime, no --force is needed.
    let retiring = key_in(&app, "ES256", "retiring").await;
    let since = retiring.retiring_since.unwrap();
    let lifetime =
        key_lifecycle::max_token_lifetime(app.settings.access_token_ttl, app.settings.id_token_ttl);
    let early = key_lifecycle::retire(
        &app.state.db,
        &active,
        false,
        lifetime,
        since + lifetime - 1,
    )
    .await;
    assert!(matches!(
        early,
        Err(LifecycleError::TokensMayBeValid { .. })
    ));
    key_lifecycle::retire(&app.state.db, &active, false, lifetime, since + lifetime)
        .await
        .unwrap();
    let (ok, out, err) = cli(&app, &["keys", "list", "--json"], &[]).await;
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    // Keys made in the same second are listed in kid order: compare without the order.
    let mut listed: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "ES256")
        .map(|k| (k["kid"].as_str().unwrap(), k["state"].as_str().unwrap()))
        .collect();
    listed.sort();
    let mut expected = vec![(active.as_str(), "retired"), (next.as_str(), "active")];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(list[0]["age_seconds"].as_i64().is_some());
}

#[tokio::test]
async fn jwks_is_cacheable_for_less_than_the_publish_ahead_time_with_an_etag() {
    let app = spawn_app_with(|s| s.key_publish_ahead_seconds = 120).await;
    let response = http().get(app.url("/jwks")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let again = http()
        .get(app.url("/jwks"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    key_lifecycle::rotate(
        &app.state.db,
        &app.state.keys.master(),
        tessera::types::SigningAlg::Rs256,
        120,
        false,
        app.clock.now(),
    )
    .await
    .unwrap();
    let changed = within_a_second(|| async {
        let response = http()
            .get(app.url("/jwks"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        response.status() == StatusCode::OK && response.headers()["etag"] != etag.as_str()
    })
    .await;
    assert!(changed, "the new key did not reach the JWKS");
    assert_eq!(jwks_kids(&app).await.len(), 3);
}

/// Every byte the database holds: the SQLite files, or every row of every table in PostgreSQL.
async fn raw_database(app: &TestApp) -> String {
    let url = &app.settings.database_url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let tables = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await
        .unwrap();
    let mut dump = String::new();
    for table in tables {
        let name: String = table.try_get("", "t").unwrap();
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT row_to_json(x)::text AS j FROM \"{name}\" x"),
            ))
            .await
            .unwrap();
        for row in rows {
            dump.push_str(&row.try_get::<String>("", "j").unwrap());
        }
    }
    dump
}

/// What must never be found in the database in clear: PEM private keys (their header and a
/// line of their body), the pepper and an upstream client secret.
async fn assert_no_clear_secrets(app: &TestApp, upstream_secret: &str) {
    let raw = raw_database(app).await;
    assert!(raw.contains("tessera-sealed:v1:"), "the dump sees the rows");
    assert!(!raw.contains("PRIVATE KEY"), "a PEM private key in clear");
    let master = app.state.keys.master();
    for row in signing_keys::list(&app.state.db).await.unwrap() {
        if row.private_key.is_empty() {
            continue;
        }
        let pem = master
            .open_string(&seal_label(&row.kid), &row.private_key)
            .unwrap();
        let body_line = pem.lines().nth(1).unwrap();
        assert!(body_line.len() >= 40);
        assert!(!raw.contains(body_line), "key {} in clear", row.kid);
    }
    let pepper = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&app.state.keys.client_secret_pepper);
    assert!(!raw.contains(&pepper), "the pepper in clear");
    assert!(
        !raw.contains(upstream_secret),
        "the upstream secret in clear"
    );
}

async fn add_upstream(app: &TestApp, secret: &str) {
    tessera::federation::upstream::register(
        &app.state.db,
        &app.state.keys.master(),
        tessera::federation::upstream::UpstreamSpec {
            name: "corp".into(),
            preset: None,
            issuer: Some("https://sso.example.com".into()),
            client_id: "tessera".into(),
            client_secret: secret.into(),
            scopes: vec![],
            hosted_domain: None,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_raw_database_holds_no_clear_key_pepper_or_upstream_secret() {
    let app = spawn_app().await;
    let secret = "upstream-client-secret-4f1d9a7e";
    add_upstream(&app, secret).await;
    let stored = upstreams::find(&app.state.db, "corp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state
            .keys
            .master()
            .open_string(&upstream_label("corp"), &stored.client_secret)
            .unwrap(),
        secret
    );
    assert_no_clear_secrets(&app, secret).await;
}

#[tokio::test]
async fn an_instance_without_the_right_master_key_refuses_to_start_and_mints_nothing() {
    let a = spawn_app().await;
    let count = signing_keys::list(&a.state.db).await.unwrap().len();
    let start = |master: Option<String>| {
        let url = a.settings.database_url.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let mut settings = test_settings(dir.path(), 1).await;
            settings.database_url = url;
            settings.master_key = master.map(tessera::secrets::Secret);
            let clock = FixedClock::default();
            clock.advance(SystemClock.now());
            let result =
                tessera::server::build_state(settings.clone(), std::sync::Arc::new(clock)).await;
            let created = settings.keys_dir.join("master.key").exists();
            (
                result.err().map(|e| e.to_string()).unwrap_or_default(),
                created,
            )
        }
    };
    let (error, created) = start(None).await;
    assert!(
        error.contains("this instance has none") && error.contains("TESSERA_MASTER_KEY"),
        "{error}"
    );
    assert!(!created, "no master key of its own");
    let other = tessera::sealing::MasterKey::generate().unwrap().to_base64();
    let (error, _) = start(Some(other)).await;
    assert!(
        error.contains("is not the one the keys in the database are sealed under")
            && error.contains("keys/master.key"),
        "{error}"
    );
    let (error, _) = start(Some("not base64!".into())).await;
    assert!(
        error.contains("TESSERA_MASTER_KEY is not a master key"),
        "{error}"
    );
    assert_eq!(signing_keys::list(&a.state.db).await.unwrap().len(), count);
    let (error, _) = start(Some(a.master_key())).await;
    assert_eq!(error, "", "the right key starts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_master_reseals_everything_and_running_instances_follow() {
    let app = spawn_app().await;
    let secret = "upstream-secret-before-rotation";
    add_upstream(&app, secret).await;
    let client = app.add_client(machine_spec()).await;
    let old_master = app.master_key();
    let old_id = app.state.keys.master().id().to_string();

    // Run on the instance's own keys directory, as an operator on that host would.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["keys", "rotate-master", "--json"])
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", &app.settings.keys_dir)
        .env("TESSERA_LOG", "error")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["previous_master_key_id"], old_id.as_str());
    assert_eq!(result["resealed"]["signing_keys"], 2);
    assert_eq!(result["resealed"]["upstream_secrets"], 1);
    assert!(
        result.get("master_key").is_none(),
        "not printed when it is in a file"
    );
    let new_master = app.master_key();
    assert_ne!(new_master, old_master);

    let followed = within_a_second(|| async { app.state.keys.master().id() != old_id }).await;
    assert!(
        followed,
        "the running instance did not pick up the new key file"
    );
    let token = access_token(&app, &client).await;
    verify_at(&app, &token).await.unwrap();
    let raw = raw_database(&app).await;
    assert!(!raw.contains(&format!("tessera-sealed:v1:{old_id}:")));
    assert_no_clear_secrets(&app, secret).await;

    let b = spawn_app_sharing(&app).await;
    assert_eq!(kid(&access_token(&b, &client).await), kid(&token));
}

/// The previous version's layout: the signing keys and the pepper in clear in `server_keys`
/// (and copies in the keys directory), upstream secrets in clear, no `signing_keys` table.
async fn downgrade_to_previous_version(app: &TestApp, legacy_dir: &std::path::Path) {
    let db = &app.state.db;
    let master = app.state.keys.master();
    let now = app.clock.now();
    for row in signing_keys::list(db).await.unwrap() {
        let file = match row.alg.as_str() {
            "RS256" => "rs256-private.pem",
            _ => "es256-private.pem",
        };
        let pem = master
            .open_string(&seal_label(&row.kid), &row.private_key)
            .unwrap();
        server_keys::set(db, file, &pem, now).await.unwrap();
        tessera::secrets::write_private_file(&legacy_dir.join(file), pem.as_bytes()).unwrap();
    }
    let sealed = server_keys::get(db, PEPPER).await.unwrap().unwrap();
    let pepper = master.open_string(&pepper_label(), &sealed).unwrap();
    server_keys::set(db, PEPPER, &pepper, now).await.unwrap();
    tessera::secrets::write_private_file(&legacy_dir.join(PEPPER), pepper.as_bytes()).unwrap();
    for upstream in upstreams::list(db).await.unwrap() {
        let clear = master
            .open_string(&upstream_label(&upstream.name), &upstream.client_secret)
            .unwrap();
        upstreams::replace_client_secret_if(db, &upstream.name, &upstream.client_secret, &clear)
            .await
            .unwrap();
    }
    for sql in [
        "DROP TABLE signing_keys",
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_000200_signing_keys'",
        "DELETE FROM change_versions WHERE kind = 'keys'",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
}

#[tokio::test]
async fn a_database_of_the_previous_version_is_sealed_in_place_and_keeps_working() {
    let old = spawn_app().await;
    old.add_user("alice").await;
    let client = old.add_client(spec("App")).await;
    let secret = "upstream-secret-of-the-old-version";
    add_upstream(&old, secret).await;
    let browser = Browser::new(&old);
    let url = old.authorize_url(&client.client_id, "openid offline_access");
    let outcome = browser
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let response = old.redeem_code(&client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let kids_before = jwks_kids(&old).await;

    let legacy_dir = tempfile::tempdir().unwrap();
    downgrade_to_previous_version(&old, legacy_dir.path()).await;
    assert!(
        raw_database(&old).await.contains("PRIVATE KEY"),
        "a clear-text database"
    );

    // The new version starts on it, with the old keys directory and no master key yet.
    let new = spawn_app_with({
        let (db, issuer, keys) = (
            old.settings.database_url.clone(),
            old.settings.issuer.clone(),
            legacy_dir.path().to_path_buf(),
        );
        move |s| {
            s.database_url = db;
            s.issuer = issuer;
            s.keys_dir = keys;
        }
    })
    .await;
    let files: Vec<_> = std::fs::read_dir(legacy_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["master.key"], "the clear copies are gone");
    assert_eq!(jwks_kids(&new).await, kids_before, "the same keys");
    assert_no_clear_secrets(&new, secret).await;
    assert!(server_keys::get(&new.state.db, "rs256-private.pem")
        .await
        .unwrap()
        .is_none());
    let stored = upstreams::find(&new.state.db, "corp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        new.state
            .keys
            .master()
            .open_string(&upstream_label("corp"), &stored.client_secret)
            .unwrap(),
        secret
    );

    // Tokens, the client secret, the refresh-token family and the browser session all work.
    let id_token = tokens["id_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    verify_at(&new, id_token).await.unwrap();
    assert_eq!(new.userinfo_status(access).await, StatusCode::OK);
    let (status, body) = refresh(
        &new,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url_new = url.as_str().replace(&old.base, &new.base);
    let browser_new = Browser {
        client: browser.client.clone(),
        ..Browser::new(&new)
    };
    let outcome = browser_new.journey(&url_new, None, "").await;
    assert_eq!(
        new.redeem_code(&client, &outcome.code()).await.status(),
        StatusCode::OK
    );
}
