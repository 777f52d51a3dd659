#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Roles and groups in tokens: granted directly, through groups and to clients; carried by
//! access tokens, ID tokens, userinfo and introspection in one shape; changed with the CLI
//! and visible at the next refresh.
use base64::Engine;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
    TokenResponse as _,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::storage::roles::{self, Holder, Within};
use tessera::types::AuthMethod;

use crate::helpers::*;
use crate::tokens::{code_flow_tokens, introspect};

/// The claims of a JWT, unverified (the tests that need it verify the signature elsewhere).
pub(crate) fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A code + refresh client allowed the roles, groups and organization scopes.
pub(crate) fn roles_spec(name: &str) -> tessera::clients::ClientMetadata {
    let mut s = spec(name);
    s.scopes = [
        "openid",
        "profile",
        "offline_access",
        "roles",
        "groups",
        "organization",
    ]
    .map(String::from)
    .to_vec();
    s
}

/// A client_credentials client allowed `api` and `roles`.
pub(crate) fn machine_spec() -> tessera::clients::ClientMetadata {
    let mut s = spec("Machine");
    s.redirect_uris = vec![];
    s.grant_types = vec!["client_credentials".into()];
    s.scopes = vec!["api".into(), "roles".into(), "groups".into()];
    s.auth_method = Some(AuthMethod::ClientSecretBasic);
    s
}

/// Runs the real `tessera` binary with `--json` on the app's database; its parsed output
/// on success, or (Err) its standard error.
pub(crate) fn tessera(app: &TestApp, args: &[&str]) -> Result<Value, String> {
    let keys = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .arg("--json")
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", keys.path().join("keys"))
        .env("TESSERA_MASTER_KEY", app.master_key())
        .env("TESSERA_ADMIN_LISTEN", "off")
        .env("TESSERA_LOG", "error")
        .output()
        .unwrap();
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

pub(crate) async fn add_role(app: &TestApp, name: &str) {
    assert!(roles::add_role(&app.state.db, name, None, app.clock.now())
        .await
        .unwrap());
}

/// alice holds `admin` directly and `viewer` through group `ops`.
async fn alice_with_roles(app: &TestApp) -> String {
    let alice = app.add_user("alice").await;
    let db = &app.state.db;
    let now = app.clock.now();
    add_role(app, "admin").await;
    add_role(app, "viewer").await;
    add_role(app, "unheld").await;
    roles::add_group(db, "ops", None, now).await.unwrap();
    roles::add_member(db, "ops", &alice.id, now).await.unwrap();
    roles::grant(db, "admin", Holder::User(&alice.id), Within::Global, now)
        .await
        .unwrap();
    roles::grant(db, "viewer", Holder::Group("ops"), Within::Global, now)
        .await
        .unwrap();
    alice.id
}

#[tokio::test]
async fn roles_and_groups_reach_every_token_through_the_openidconnect_client() {
    let app = spawn_app().await;
    let alice = alice_with_roles(&app).await;
    let registered = app.add_client(roles_spec("Dashboard")).await;
    let client = app.oidc_client(&registered).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("roles".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge)
        .url();
    let outcome = Browser::new(&app)
        .journey(auth_url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(outcome.code()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id_token");
    let verified = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("valid ID token");
    assert_eq!(verified.subject().as_str(), alice);

    // One shape everywhere: sorted arrays of strings.
    let expected_roles = json!(["admin", "viewer"]);
    let expected_groups = json!(["ops"]);
    let id_claims = jwt_claims(&id_token.to_string());
    assert_eq!(id_claims["roles"], expected_roles, "{id_claims}");
    assert_eq!(id_claims["groups"], expected_groups);
    let access = tokens.access_token().secret().clone();
    let at = jwt_claims(&access);
    assert_eq!(at["roles"], expected_roles, "{at}");
    assert_eq!(at["groups"], expected_groups);
    assert!(at.get("org_id").is_none(), "no organization was asked for");

    let info: Value = http()
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["roles"], expected_roles, "{info}");
    assert_eq!(info["groups"], expected_groups);

    let body = introspect(&app, &registered, &access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["roles"], expected_roles, "{body}");
    assert_eq!(body["groups"], expected_groups);
}

#[tokio::test]
async fn without_the_scopes_tokens_carry_no_roles_or_groups() {
    let app = spawn_app().await;
    alice_with_roles(&app).await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    let tokens = code_flow_tokens(&app, &client, "openid profile").await;
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert!(
        at.get("roles").is_none() && at.get("groups").is_none(),
        "{at}"
    );
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert!(
        id.get("roles").is_none() && id.get("groups").is_none(),
        "{id}"
    );

    // A client not allowed the roles scope does not get it by asking.
    let plain = app.add_client(spec("Plain")).await;
    let tokens = code_flow_tokens(&app, &plain, "openid roles").await;
    assert_eq!(tokens["scope"], "openid");
    assert!(jwt_claims(tokens["access_token"].as_str().unwrap())
        .get("roles")
        .is_none());
}

// The CLI runs as a blocking child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_revoked_with_the_cli_is_gone_from_the_next_refresh() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    tessera(&app, &["role", "add", "--name", "admin"]).unwrap();
    tessera(&app, &["role", "add", "--name", "viewer"]).unwrap();
    tessera(&app, &["group", "add", "--name", "ops"]).unwrap();
    tessera(
        &app,
        &[
            "group",
            "add-member",
            "--group",
            "ops",
            "--username",
            "alice",
        ],
    )
    .unwrap();
    tessera(
        &app,
        &["group", "grant-role", "--group", "ops", "--role", "viewer"],
    )
    .unwrap();
    let granted = tessera(
        &app,
        &[
            "user",
            "grant-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    assert_eq!(granted["changed"], true);
    let again = tessera(
        &app,
        &[
            "user",
            "grant-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    assert_eq!(again["changed"], false, "granting twice changes nothing");

    let tokens = code_flow_tokens(&app, &client, "openid roles groups offline_access").await;
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["admin", "viewer"]));
    let r1 = tokens["refresh_token"].as_str().unwrap().to_string();

    let revoked = tessera(
        &app,
        &[
            "user",
            "revoke-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    assert_eq!(revoked["changed"], true);
    let (status, body) = refresh(&app, &client, &r1, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!(["viewer"]), "revoked at once: {at}");

    // Leaving the group takes its roles along, at the next refresh too.
    tessera(
        &app,
        &[
            "group",
            "remove-member",
            "--group",
            "ops",
            "--username",
            "alice",
        ],
    )
    .unwrap();
    let r2 = body["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = refresh(&app, &client, &r2, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["roles"], json!([]), "{at}");
    assert_eq!(at["groups"], json!([]));

    // A second instance on the same database sees the same roles: nothing is cached.
    tessera(
        &app,
        &[
            "user",
            "grant-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    let other = spawn_app_sharing(&app).await;
    let r3 = body["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = refresh(&other, &client, &r3, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["roles"],
        json!(["admin"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_refuses_and_explains() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let unknown = tessera(
        &app,
        &[
            "user",
            "grant-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap_err();
    assert!(
        unknown.contains("tessera role add --name admin"),
        "{unknown}"
    );
    let bad = tessera(&app, &["role", "add", "--name", "has space"]).unwrap_err();
    assert!(bad.contains("error"), "{bad}");
    tessera(
        &app,
        &["role", "add", "--name", "admin", "--description", "All"],
    )
    .unwrap();
    let twice = tessera(&app, &["role", "add", "--name", "admin"]).unwrap_err();
    assert!(twice.contains("already exists"), "{twice}");
    tessera(&app, &["group", "add", "--name", "ops"]).unwrap();
    tessera(
        &app,
        &[
            "group",
            "add-member",
            "--group",
            "ops",
            "--username",
            "alice",
        ],
    )
    .unwrap();
    tessera(
        &app,
        &["group", "grant-role", "--group", "ops", "--role", "admin"],
    )
    .unwrap();
    tessera(
        &app,
        &[
            "user",
            "grant-role",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    let listed = tessera(&app, &["role", "list"]).unwrap();
    assert_eq!(listed[0]["name"], "admin");
    assert_eq!(
        listed[0]["holders"],
        json!([
            {"kind": "group", "name": "ops", "organization": null},
            {"kind": "user", "name": "alice", "organization": null},
        ])
    );
    let groups = tessera(&app, &["group", "list"]).unwrap();
    assert_eq!(groups[0]["members"], json!(["alice"]));
    let not_held = tessera(
        &app,
        &[
            "user",
            "revoke-role",
            "--username",
            "nobody",
            "--role",
            "admin",
        ],
    )
    .unwrap_err();
    assert!(not_held.contains("no user named nobody"), "{not_held}");

    // Every change is in the audit log, with what changed and for whom.
    let events = tessera(&app, &["audit", "list"]).unwrap();
    let changes: Vec<(Value, Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "authorization_changed")
        .map(|e| (e["reason"].clone(), e["target"].clone()))
        .collect();
    for expected in [
        (json!("role_granted"), json!("role:admin")),
        (json!("role_granted"), json!("role:admin group:ops")),
        (json!("group_member_added"), json!("group:ops")),
    ] {
        assert!(changes.contains(&expected), "{expected:?} in {changes:?}");
    }

    // Removing the role removes its grants.
    let removed = tessera(&app, &["role", "remove", "--name", "admin"]).unwrap();
    assert_eq!(removed["grants_removed"], 2);
    assert!(roles::grants(&app.state.db, None).await.unwrap().is_empty());
    let removed = tessera(&app, &["group", "remove", "--name", "ops"]).unwrap();
    assert_eq!(removed["removed"], true);
    assert!(roles::groups_of(&app.state.db, "x")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_carry_the_clients_roles() {
    let app = spawn_app().await;
    let machine = app.add_client(machine_spec()).await;
    tessera(&app, &["role", "add", "--name", "reporter"]).unwrap();
    let granted = tessera(
        &app,
        &[
            "client",
            "grant-role",
            "--client-id",
            &machine.client_id,
            "--role",
            "reporter",
        ],
    )
    .unwrap();
    assert_eq!(granted["changed"], true);
    let response = app
        .post_basic("/token", &machine, &[("grant_type", "client_credentials")])
        .await;
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let at = jwt_claims(token);
    assert_eq!(at["roles"], json!(["reporter"]), "{at}");
    assert_eq!(at["groups"], json!([]), "a client is in no group");
    let seen = introspect(&app, &machine, token).await;
    assert_eq!(seen["roles"], json!(["reporter"]), "{seen}");

    tessera(
        &app,
        &[
            "client",
            "revoke-role",
            "--client-id",
            &machine.client_id,
            "--role",
            "reporter",
        ],
    )
    .unwrap();
    let body: Value = app
        .post_basic(
            "/token",
            &machine,
            &[("grant_type", "client_credentials"), ("scope", "roles")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["roles"],
        json!([])
    );

    // Deleting the client deletes its grants.
    tessera(
        &app,
        &[
            "client",
            "grant-role",
            "--client-id",
            &machine.client_id,
            "--role",
            "reporter",
        ],
    )
    .unwrap();
    tessera(
        &app,
        &["client", "remove", "--client-id", &machine.client_id],
    )
    .unwrap();
    assert!(roles::grants(&app.state.db, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn discovery_names_the_scopes_and_the_configured_claim() {
    let app = spawn_app_with(|s| s.roles_claim = "https://example.com/roles".into()).await;
    let doc: Value = get_json(app.url("/.well-known/openid-configuration")).await;
    let scopes = doc["scopes_supported"].as_array().unwrap();
    for scope in ["roles", "groups", "organization"] {
        assert!(scopes.contains(&json!(scope)), "{scope}");
    }
    let claims = doc["claims_supported"].as_array().unwrap();
    for claim in ["https://example.com/roles", "groups", "org_id", "org_name"] {
        assert!(claims.contains(&json!(claim)), "{claim}");
    }
    assert!(!claims.contains(&json!("roles")));

    alice_with_roles(&app).await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    let tokens = code_flow_tokens(&app, &client, "openid roles").await;
    let at = jwt_claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        at["https://example.com/roles"],
        json!(["admin", "viewer"]),
        "{at}"
    );
    assert!(at.get("roles").is_none());
}
