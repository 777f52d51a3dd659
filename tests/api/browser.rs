#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The pages in a real browser: Debian's Chromium driven by Playwright
//! (`tests/browser/flows.mjs`) against the `tessera serve` binary, with a relying party
//! served here that redeems each code with the `openidconnect` crate.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (`bash tests/browser/setup.sh`).
//! Without them this test says how to install them and passes, so that `cargo test` works on
//! a fresh machine, unless `TESSERA_REQUIRE_BROWSER=1` (as `.ci/run` sets).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};
use serde_json::Value;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What is missing to run the browser tests, if anything.
fn missing_prerequisites() -> Vec<String> {
    let chromium = std::env::var("TESSERA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    let mut missing = vec![];
    if !Path::new(&chromium).exists() {
        missing.push(format!("Chromium at {chromium}"));
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        missing.push("node".into());
    }
    let modules = root().join("tests/browser/node_modules");
    for package in ["playwright-core", "axe-core"] {
        if !modules.join(package).exists() {
            missing.push(format!("the npm package {package}"));
        }
    }
    missing
}

/// The relying party: `/start` sends the browser to Tessera with a fresh state, nonce and
/// PKCE verifier; `/callback` redeems the code and verifies the ID token.
struct Rp {
    client: RpClient,
    /// Where `/refresh` posts, and how the app authenticates there.
    token_url: String,
    credentials: (String, String),
    pending: Mutex<HashMap<String, (PkceCodeVerifier, Nonce)>>,
    /// One line per callback or refresh: `signed-in <username>`, `refreshed` or
    /// `error <code>`.
    outcomes: Mutex<Vec<String>>,
    /// The current refresh token of every login the app received (one per family).
    refresh_tokens: Mutex<Vec<String>>,
}

/// The refresh grant (RFC 6749 §6) with `token`: the new token response or the error code.
async fn refresh_grant(rp: &Rp, token: &str) -> Result<Value, String> {
    let response = http()
        .post(&rp.token_url)
        .basic_auth(&rp.credentials.0, Some(&rp.credentials.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    let ok = response.status().is_success();
    let body: Value = response.json().await.unwrap();
    if ok {
        Ok(body)
    } else {
        Err(body["error"]
            .as_str()
            .unwrap_or("no error code")
            .to_string())
    }
}

/// `/refresh`: the app uses the refresh token of its first login (alice's), as it would
/// while she is away, and keeps the rotated one.
async fn refresh(State(rp): State<Arc<Rp>>) -> Response {
    let token = rp.refresh_tokens.lock().unwrap().first().cloned();
    let outcome = match token {
        None => "error no-refresh-token".to_string(),
        Some(token) => match refresh_grant(&rp, &token).await {
            Ok(body) => {
                let mut tokens = rp.refresh_tokens.lock().unwrap();
                if let (Some(first), Some(new)) =
                    (tokens.first_mut(), body["refresh_token"].as_str())
                {
                    *first = new.to_string();
                }
                "refreshed".to_string()
            }
            Err(code) => format!("error {code}"),
        },
    };
    rp.outcomes.lock().unwrap().push(outcome.clone());
    Html(format!(
        "<!doctype html><html lang=en><title>Notes</title><main><h1 id=outcome>{outcome}</h1></main></html>"
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Start {
    ui_locales: Option<String>,
    /// An extra scope (`organization`, which brings the selection page to a member of two).
    scope: Option<String>,
}

async fn start(State(rp): State<Arc<Rp>>, Query(q): Query<Start>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge);
    if let Some(locales) = q.ui_locales {
        request = request.add_extra_param("ui_locales", locales);
    }
    if let Some(scope) = q.scope {
        request = request.add_scope(Scope::new(scope));
    }
    let (url, state, nonce) = request.url();
    rp.pending
        .lock()
        .unwrap()
        .insert(state.secret().clone(), (verifier, nonce));
    Redirect::to(url.as_str()).into_response()
}

async fn callback(State(rp): State<Arc<Rp>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let pending = q
        .get("state")
        .and_then(|s| rp.pending.lock().unwrap().remove(s));
    let outcome = match (pending, q.get("code"), q.get("error")) {
        (Some((verifier, nonce)), Some(code), _) => {
            let tokens = rp
                .client
                .exchange_code(AuthorizationCode::new(code.clone()))
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(&http())
                .await
                .expect("the code is redeemed");
            let claims = tokens
                .id_token()
                .expect("an ID token")
                .claims(&rp.client.id_token_verifier(), &nonce)
                .expect("a valid ID token");
            if let Some(token) = tokens.refresh_token() {
                rp.refresh_tokens
                    .lock()
                    .unwrap()
                    .push(token.secret().clone());
            }
            let username = claims
                .preferred_username()
                .map(|u| u.as_str().to_string())
                .unwrap_or_default();
            match org_name(tokens.access_token().secret()) {
                Some(org) => format!("signed-in {username} at {org}"),
                None => format!("signed-in {username}"),
            }
        }
        (Some(_), None, Some(error)) => format!("error {error}"),
        _ => "error unknown-state".to_string(),
    };
    rp.outcomes.lock().unwrap().push(outcome.clone());
    Html(format!(
        "<!doctype html><html lang=en><title>Notes</title><main><h1 id=outcome>{outcome}</h1></main></html>"
    ))
    .into_response()
}

/// The `org_name` claim of an access token (read, not verified: the app only reports it).
fn org_name(access_token: &str) -> Option<String> {
    use base64::Engine;
    let payload = access_token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&json).ok()?;
    claims["org_name"].as_str().map(str::to_string)
}

async fn serve_rp(rp: Arc<Rp>, listener: tokio::net::TcpListener) {
    let app = axum::Router::new()
        .route("/start", axum::routing::get(start))
        .route("/callback", axum::routing::get(callback))
        .route("/refresh", axum::routing::get(refresh))
        .with_state(rp);
    axum::serve(listener, app).await.unwrap();
}

async fn cli(env: &[(&str, String)], args: &[&str], stdin: &str) -> Value {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .args(args)
        .arg("--json")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A logo for the branded instance the screenshots show.
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32"><rect x="2" y="2" width="13" height="13" rx="2" fill="#0f766e"/><rect x="17" y="2" width="13" height="13" rx="2" fill="#14b8a6"/><rect x="2" y="17" width="13" height="13" rx="2" fill="#14b8a6"/><rect x="17" y="17" width="13" height="13" rx="2" fill="#0f766e"/></svg>"##;

#[tokio::test]
async fn the_pages_work_in_chromium_by_keyboard_and_pass_axe() {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        let required = std::env::var("TESSERA_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let message = format!(
            "browser tests skipped: missing {}. Install them with: bash tests/browser/setup.sh",
            missing.join(", ")
        );
        assert!(!required, "{message} (TESSERA_REQUIRE_BROWSER=1)");
        eprintln!("{message}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, LOGO).unwrap();
    let env: Vec<(&str, String)> = vec![
        ("TESSERA_DATABASE_URL", fresh_database_url(dir.path()).await),
        (
            "TESSERA_KEYS_DIR",
            dir.path().join("keys").display().to_string(),
        ),
        ("TESSERA_ISSUER", base.clone()),
        ("TESSERA_LISTEN", format!("127.0.0.1:{port}")),
        ("TESSERA_LOG", "warn".into()),
        // Tests run side by side: none may take the default admin port.
        ("TESSERA_ADMIN_LISTEN", "off".into()),
        ("TESSERA_BRAND_NAME", "Example Corp".into()),
        ("TESSERA_BRAND_LOGO", logo.display().to_string()),
        ("TESSERA_BRAND_COLOR", "#0f766e".into()),
        (
            "TESSERA_PASSWORD_RESET_URL",
            "https://help.example.com/reset".into(),
        ),
    ];
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    server.arg("serve").kill_on_drop(true);
    for (k, v) in &env {
        server.env(k, v);
    }
    let _server = server.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let rp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp_base = format!(
        "http://127.0.0.1:{}",
        rp_listener.local_addr().unwrap().port()
    );
    for user in ["alice", "bob", "carla", "dora"] {
        cli(
            &env,
            &[
                "user",
                "add",
                "--username",
                user,
                "--name",
                &format!("{}{} Example", &user[..1].to_uppercase(), &user[1..]),
                "--email",
                &format!("{user}@example.com"),
                "--email-verified",
                "--password-stdin",
            ],
            PASSWORD,
        )
        .await;
    }
    let added = cli(
        &env,
        &[
            "client",
            "add",
            "--name",
            "Notes",
            "--redirect-uri",
            &format!("{rp_base}/callback"),
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--client-uri",
            "https://notes.example.com/",
            "--policy-uri",
            "https://notes.example.com/privacy",
            "--tos-uri",
            "https://notes.example.com/terms",
            "--scope",
            "openid",
            "--scope",
            "profile",
            "--scope",
            "email",
            "--scope",
            "offline_access",
            "--scope",
            "organization",
        ],
        "",
    )
    .await;
    // Dora belongs to two organizations: with the `organization` scope she chooses one.
    for (slug, name) in [("acme", "Acme"), ("globex", "Globex")] {
        cli(&env, &["org", "add", "--slug", slug, "--name", name], "").await;
        cli(
            &env,
            &["org", "add-member", "--org", slug, "--username", "dora"],
            "",
        )
        .await;
    }
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http())
            .await
            .unwrap();
    let token_url = metadata.token_endpoint().unwrap().url().to_string();
    let client_id = added["client_id"].as_str().unwrap().to_string();
    let client_secret = added["client_secret"].as_str().unwrap().to_string();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(added["client_id"].as_str().unwrap().into()),
        added["client_secret"]
            .as_str()
            .map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{rp_base}/callback")).unwrap());
    let rp = Arc::new(Rp {
        client,
        token_url,
        credentials: (client_id, client_secret),
        pending: Mutex::default(),
        outcomes: Mutex::default(),
        refresh_tokens: Mutex::default(),
    });
    tokio::spawn(serve_rp(rp.clone(), rp_listener));

    let screenshots = root().join("target/screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("node")
            .arg(root().join("tests/browser/flows.mjs"))
            .env("TESSERA_URL", &base)
            .env("RP_URL", &rp_base)
            .env("TEST_PASSWORD", PASSWORD)
            .env("SCREENSHOT_DIR", &screenshots)
            .env(
                "CHROMIUM",
                std::env::var("TESSERA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into()),
            )
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser flows finish within 5 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "flows.mjs failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");

    // Every code the browser brought back was redeemed by the relying party, in order:
    // a keyboard login, the same session again (no login), the app refreshing while alice
    // is away, a denial, the German pages, an organization chosen, then the refresh refused once alice removed the
    // app on her account page.
    assert_eq!(
        *rp.outcomes.lock().unwrap(),
        vec![
            "signed-in alice",
            "signed-in alice",
            "refreshed",
            "error access_denied",
            "signed-in carla",
            "signed-in dora at Globex",
            "error invalid_grant",
        ]
    );
    // Every refresh token the app still held for alice (one per login, the first never
    // used) fails at /token: removing the app revoked all its families. Carla's still works.
    let tokens = rp.refresh_tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 4, "alice twice, then carla, then dora");
    for token in &tokens[..2] {
        assert_eq!(
            refresh_grant(&rp, token).await.err().as_deref(),
            Some("invalid_grant"),
            "alice's refresh token after the app was removed"
        );
    }
    assert!(
        refresh_grant(&rp, &tokens[2]).await.is_ok(),
        "another user's grant is untouched"
    );
    for page in [
        "login",
        "account",
        "account-de",
        "account-de-error",
        "api-key-created",
        "consent",
        "consent-de",
        "organization",
        "logout",
        "signed-out",
        "error",
    ] {
        for shot in ["1280-light", "1280-dark", "360-light", "360-dark"] {
            let file = screenshots.join(format!("{page}-{shot}.png"));
            assert!(file.exists(), "{} was not written", file.display());
        }
    }
}
