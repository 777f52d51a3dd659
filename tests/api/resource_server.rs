#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The example resource server (`examples/resource_server/`), its router run in process in
//! front of a real Tessera: 401 and 403 with RFC 6750 challenges, 200 for a JWT access token
//! with the scope (and a role granted with the CLI), API keys by introspection, and a signing-key rotation met by
//! re-reading the JWKS.
#[path = "../../examples/resource_server/app.rs"]
mod example;

use reqwest::StatusCode;
use serde_json::Value;
use tessera::apikeys::{self, NewApiKey, Owner};
use tessera::clients::ClientMetadata;
use tessera::clock::Clock;
use tessera::oauth::token_minting::{self, AccessGrant};
use tessera::types::Scopes;

use crate::helpers::*;

const API: &str = "https://api.example.com";

struct Setup {
    app: TestApp,
    api: String,
    machine: Registered,
}

async fn setup() -> Setup {
    setup_with_roles_claim("roles", "roles").await
}

/// Tessera putting roles in `server_claim`, the example reading them from `example_claim`.
async fn setup_with_roles_claim(server_claim: &str, example_claim: &str) -> Setup {
    let server_claim = server_claim.to_string();
    let app = spawn_app_with(|s| s.roles_claim = server_claim).await;
    let api_client = app
        .add_client(ClientMetadata {
            name: "Example API".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["none".into()],
            ..ClientMetadata::default()
        })
        .await;
    tessera::storage::resources::upsert(
        &app.state.db,
        tessera::resources::Resource {
            uri: API.into(),
            name: Some("Example API".into()),
            scopes: Scopes::parse("api:read").unwrap(),
            introspecting_clients: vec![api_client.client_id.clone()],
        }
        .to_row(),
        app.clock.now(),
    )
    .await
    .unwrap();
    let machine = app
        .add_client(ClientMetadata {
            name: "Machine".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["api:read".into(), "reports".into(), "roles".into()],
            ..ClientMetadata::default()
        })
        .await;
    let verifier = example::Verifier::new(example::Config {
        issuer: app.base.clone(),
        audience: API.into(),
        client_id: api_client.client_id.clone(),
        client_secret: api_client.secret.clone().unwrap(),
        roles_claim: example_claim.into(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, example::router(verifier)).await });
    Setup { app, api, machine }
}

impl Setup {
    /// The machine client holds the `admin` role, granted with the CLI.
    async fn grant_admin_role(&self) {
        let cli = crate::api_keys::tessera_json;
        cli(&self.app, &["role", "add", "--name", "admin"]).await;
        let machine = self.machine.client_id.as_str();
        let grant = [
            "client",
            "grant-role",
            "--client-id",
            machine,
            "--role",
            "admin",
        ];
        cli(&self.app, &grant).await;
    }

    /// A token of the machine client holding the `admin` role, with the `roles` scope.
    async fn admin_token(&self) -> String {
        self.grant_admin_role().await;
        self.token(&[("resource", API), ("scope", "api:read roles")])
            .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> String {
        let mut form = form.to_vec();
        form.push(("grant_type", "client_credentials"));
        let response = self.app.post_basic("/token", &self.machine, &form).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// A token as Tessera signs it, living `lifetime` seconds (negative: already expired).
    fn signed_token(&self, lifetime: i64) -> String {
        token_minting::access_token(
            &self.app.state,
            &AccessGrant {
                subject: "user-1",
                client_id: &self.machine.client_id,
                scope: &Scopes::parse("api:read").unwrap(),
                audience: API.into(),
                family_id: None,
                auth_time: None,
                api_key_id: None,
                lifetime: Some(lifetime),
                authz: &tessera::authz::TokenAuthz::default(),
            },
            self.app.clock.now(),
        )
        .unwrap()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, String, Value) {
        let mut request = http().get(format!("{}{path}", self.api));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (
            status,
            challenge,
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn the_example_answers_401_403_and_200_as_rfc_6750_says() {
    let s = setup().await;

    let (status, challenge, _) = s.get("/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge, "Bearer realm=\"example-api\"",
        "no error code without credentials"
    );

    let (status, challenge, _) = s.get("/me", Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // A valid token of Tessera's, but for another audience, or expired.
    let other_audience = s.token(&[("scope", "reports")]).await;
    let (status, challenge, _) = s.get("/me", Some(&other_audience)).await;
    assert_eq!(
        (status, challenge.contains("invalid_token")),
        (StatusCode::UNAUTHORIZED, true)
    );
    let expired = s.signed_token(-60);
    let (status, _, _) = s.get("/me", Some(&expired)).await;
    assert_eq!(status, 401);

    // For this API, without the scope: 403 naming it.
    let no_scope = s.token(&[("resource", API), ("scope", "reports")]).await;
    let (status, challenge, _) = s.get("/me", Some(&no_scope)).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"api:read\""),
        "{challenge}"
    );

    // With the scope: 200; the admin route also needs the role.
    let reader = s.token(&[("resource", API), ("scope", "api:read")]).await;
    let (status, _, body) = s.get("/me", Some(&reader)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["via"], "jwt");
    assert_eq!(body["sub"], s.machine.client_id.as_str());
    let (status, challenge, _) = s.get("/admin", Some(&reader)).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("admin role"),
        "{challenge}"
    );
    // The admin role granted with the CLI, carried with the roles scope.
    s.grant_admin_role().await;
    let without_roles_scope = s.token(&[("resource", API), ("scope", "api:read")]).await;
    assert_eq!(s.get("/admin", Some(&without_roles_scope)).await.0, 403);
    let admin = s
        .token(&[("resource", API), ("scope", "api:read roles")])
        .await;
    let (status, _, body) = s.get("/admin", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["admin"], true);
}

#[tokio::test]
async fn the_example_reads_roles_from_the_claim_tessera_is_configured_with() {
    const CLAIM: &str = "https://example.com/roles";
    let s = setup_with_roles_claim(CLAIM, CLAIM).await;
    let admin = s.admin_token().await;
    let (status, _, body) = s.get("/admin", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, me) = s.get("/me", Some(&admin)).await;
    assert_eq!(me["roles"], serde_json::json!(["admin"]), "{me}");

    // An example still reading `roles` from that server sees no role.
    let s = setup_with_roles_claim(CLAIM, "roles").await;
    let admin = s.admin_token().await;
    let (status, challenge, _) = s.get("/admin", Some(&admin)).await;
    assert_eq!(status, 403, "{challenge}");
}

#[tokio::test]
async fn the_example_accepts_api_keys_by_introspection_until_revoked() {
    let s = setup().await;
    let alice = s.app.add_user("alice").await;
    let new = |scope: &str| NewApiKey {
        owner: Owner::User(alice.id.clone()),
        name: "script".into(),
        scope: Some(Scopes::parse(scope).unwrap()),
        lifetime: Some(3600),
        organization_id: None,
    };
    let db = &s.app.state.db;
    let keys = &s.app.state.keys;
    let now = s.app.clock.now();
    let (row, key) = apikeys::create(db, keys, new("api:read"), now)
        .await
        .unwrap();
    let (_, narrow) = apikeys::create(db, keys, new("reports"), now)
        .await
        .unwrap();

    let (status, _, body) = s.get("/me", Some(key.expose())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["via"], "api_key");
    assert_eq!(body["sub"], alice.id.as_str());
    let (status, challenge, _) = s.get("/admin", Some(key.expose())).await;
    assert_eq!(
        (status, challenge.contains("admin role")),
        (StatusCode::FORBIDDEN, true)
    );
    let (status, challenge, _) = s.get("/me", Some(narrow.expose())).await;
    assert_eq!(
        (status, challenge.contains("insufficient_scope")),
        (StatusCode::FORBIDDEN, true)
    );

    apikeys::revoke(db, &row.id, None, now).await.unwrap();
    let (status, challenge, _) = s.get("/me", Some(key.expose())).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn the_example_rereads_the_jwks_when_tessera_signs_with_a_new_key() {
    let s = setup().await;
    let before = s.token(&[("resource", API), ("scope", "api:read")]).await;
    assert_eq!(s.get("/me", Some(&before)).await.0, 200);
    let (ok, _, stderr) = crate::api_keys::tessera(&s.app, &["keys", "rotate", "--now"]).await;
    assert!(ok, "{stderr}");
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    let mut after = s.token(&[("resource", API), ("scope", "api:read")]).await;
    for _ in 0..50 {
        if kid(&after) != kid(&before) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = s.token(&[("resource", API), ("scope", "api:read")]).await;
    }
    assert_ne!(kid(&after), kid(&before), "Tessera signs with the new key");
    let (status, _, body) = s.get("/me", Some(&after)).await;
    assert_eq!(status, 200, "{body}");
}
