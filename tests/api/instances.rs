#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Nothing lost, nothing hidden: the CLI and several instances share one database, and a
//! change made with the CLI takes effect at once.
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// Runs the real `tessera` binary against the app's database, with its own keys directory.
fn cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let keys = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", keys.path())
        .env("TESSERA_MASTER_KEY", app.master_key())
        .env("TESSERA_ISSUER", &app.base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

// The CLI runs as a blocking child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_changes_take_effect_at_once_on_a_running_server() {
    let app = spawn_app().await;
    let (ok, out, err) = cli(
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
        None,
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let client = Registered {
        client_id: created["client_id"].as_str().unwrap().into(),
        secret: created["client_secret"].as_str().map(str::to_string),
    };
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let (ok, out, _) = cli(&app, &["client", "list", "--json"], None);
    assert!(ok && out.contains(&client.client_id));
    let (ok, out, err) = cli(
        &app,
        &[
            "client",
            "rotate-secret",
            "--client-id",
            &client.client_id,
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the old secret stops working at once"
    );
    let client = Registered {
        client_id: client.client_id.clone(),
        secret: rotated["client_secret"].as_str().map(str::to_string),
    };
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let (ok, _, err) = cli(
        &app,
        &[
            "client",
            "remove",
            &format!("--client-id={}", client.client_id),
        ],
        None,
    );
    assert!(ok, "{err}");
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

// The CLI runs as a blocking child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_users_can_log_in_and_disabling_them_works_at_once() {
    let app = spawn_app().await;
    let (ok, out, err) = cli(
        &app,
        &[
            "user",
            "add",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--password-stdin",
            "--json",
        ],
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"username\":\"bob\""));
    let (ok, _, err) = cli(
        &app,
        &["user", "add", "--username", "bob", "--password-stdin"],
        Some("another password"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");

    let client = app.add_client(spec("App")).await;
    let url = app.authorize_url(&client.client_id, "openid");
    let outcome = Browser::new(&app)
        .journey(
            url.as_str(),
            Some(("bob", "a long enough password")),
            "allow",
        )
        .await;
    let response = app.redeem_code(&client, &outcome.code()).await;
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo_status(access).await, StatusCode::OK);

    let (ok, _, err) = cli(&app, &["user", "disable", "--username", "bob"], None);
    assert!(ok, "{err}");
    assert_eq!(app.userinfo_status(access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_instances_on_one_database_behave_as_one_server() {
    let a = spawn_app().await;
    let b = spawn_app_sharing(&a).await;
    a.add_user("alice").await;
    let client = a.add_client(spec("App")).await;

    let jwks_a = http()
        .get(a.url("/jwks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks_b = http()
        .get(b.url("/jwks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        jwks_a, jwks_b,
        "instances share their signing keys through the database"
    );

    let url = a.authorize_url(&client.client_id, "openid offline_access");
    let outcome = Browser::new(&a)
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    // The code issued by A is redeemed at B; B's refresh rotates at A; a replay at B revokes.
    let response = b.redeem_code(&client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let r1 = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        a.userinfo_status(tokens["access_token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
    assert_eq!(refresh(&a, &client, r1, None).await.0, StatusCode::OK);
    assert_eq!(
        refresh(&b, &client, r1, None).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn restart_keeps_keys_clients_and_sessions() {
    let a = spawn_app().await;
    a.add_user("alice").await;
    let client = a.add_client(spec("App")).await;
    let url = a.authorize_url(&client.client_id, "openid");
    let browser = Browser::new(&a);
    browser
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await
        .code();
    let jwks_before = http()
        .get(a.url("/jwks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // A new process on the same database and the same keys directory.
    let b = spawn_app_with({
        let (db, keys) = (a.settings.database_url.clone(), a.settings.keys_dir.clone());
        move |s| {
            s.database_url = db;
            s.keys_dir = keys;
        }
    })
    .await;
    let jwks_after = http()
        .get(b.url("/jwks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after);
    // The browser's session cookie is for 127.0.0.1 (any port): its session is still valid.
    let url_b = url.as_str().replace(&a.base, &b.base);
    let browser_b = Browser {
        client: browser.client.clone(),
        ..Browser::new(&b)
    };
    let outcome = browser_b.journey(&url_b, None, "").await;
    let response = b.redeem_code(&client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_the_master_key_is_a_file_and_discovery_advertises_what_exists() {
    let app = spawn_app().await;
    // The master key is the only file: the keys are in the database, sealed under it.
    let files: Vec<_> = std::fs::read_dir(&app.settings.keys_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, ["master.key"]);
    let meta = std::fs::metadata(app.settings.keys_dir.join("master.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let jwks: Value = get_json(app.url("/jwks")).await;
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["RS256", "ES256"]);
    for key in jwks["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        assert_eq!(
            key["kid"].as_str().unwrap().len(),
            43,
            "RFC 7638 SHA-256 thumbprint"
        );
    }
    let oidc: Value = get_json(app.url("/.well-known/openid-configuration")).await;
    let oauth: Value = get_json(app.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(oidc["issuer"], app.base.as_str());
    assert_eq!(oauth["issuer"], app.base.as_str());
    assert_eq!(
        oidc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "introspection_endpoint",
        "revocation_endpoint",
    ] {
        assert_eq!(oidc[endpoint], oauth[endpoint]);
        let url = oidc[endpoint].as_str().unwrap();
        let status = http().get(url).send().await.unwrap().status();
        assert_ne!(
            status,
            StatusCode::NOT_FOUND,
            "{endpoint} advertised but not served"
        );
    }
}

#[tokio::test]
async fn an_http_issuer_is_refused_unless_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), 1).await;
    settings.issuer = "http://id.example.com".parse().unwrap();
    assert!(settings.check().unwrap_err().contains("https"));
    settings.issuer = "https://id.example.com".parse().unwrap();
    assert!(settings.check().is_ok());
    settings.issuer = "http://localhost:8080".parse().unwrap();
    assert!(settings.check().is_ok());
}
