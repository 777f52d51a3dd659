#![allow(clippy::unwrap_used, clippy::expect_used)]
//! API keys and organizations together: a key belongs to one organization (made with the
//! real CLI), is invisible to an API of another (introspection inactive, exchange refused),
//! and reports — and its exchanged tokens carry — that organization's roles only; and a
//! client's organization restriction, cached with the client, changed by the CLI and holding
//! at once on a second instance.
use serde_json::{json, Value};
use tessera::clients::metadata::TOKEN_EXCHANGE;
use tessera::clients::ClientMetadata;
use tessera::clock::Clock;
use tessera::storage::roles::{self, Holder, Within};

use crate::api_keys::{exchange, introspect, tessera, tessera_json};
use crate::helpers::*;
use crate::organizations::world;
use crate::roles::{jwt_claims, machine_spec};

/// A confidential client that introspects and exchanges keys, restricted to `org` (by the
/// CLI) when given.
async fn gateway_of(app: &TestApp, name: &str, org: Option<&str>) -> Registered {
    let gateway = app
        .add_client(ClientMetadata {
            name: name.into(),
            grant_types: vec![TOKEN_EXCHANGE.into()],
            scopes: vec!["api:read".into(), "roles".into()],
            ..ClientMetadata::default()
        })
        .await;
    if let Some(org) = org {
        let args = [
            "client",
            "update",
            "--client-id",
            &gateway.client_id,
            "--organization",
            org,
        ];
        tessera_json(app, &args).await;
    }
    gateway
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_one_organization_is_nothing_to_another() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let acme_api = gateway_of(&app, "Acme API", Some("acme")).await;
    let globex_api = gateway_of(&app, "Globex API", Some("globex")).await;
    let any_api = gateway_of(&app, "Shared API", None).await;

    // bob is no member of acme: no key of acme for him.
    let (ok, _, stderr) = tessera(
        &app,
        &[
            "apikey",
            "create",
            "--user",
            "bob",
            "--name",
            "ci",
            "--organization",
            "acme",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("not a member"), "{stderr}");

    let created = tessera_json(
        &app,
        &[
            "apikey",
            "create",
            "--user",
            "alice",
            "--name",
            "acme deploys",
            "--scope",
            "api:read",
            "--scope",
            "roles",
            "--organization",
            "acme",
        ],
    )
    .await;
    assert_eq!(created["organization_id"], w.acme.id.as_str());
    let key = created["key"].as_str().unwrap();

    // Its own organization's API, and an unrestricted one, see alice's acme roles only:
    // not globex's `viewer`, not the global `staff`.
    for api in [&acme_api, &any_api] {
        let body = introspect(&app, api, key).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["org_id"], w.acme.id.as_str());
        assert_eq!(body["org_name"], "Acme Inc.");
        assert_eq!(body["roles"], json!(["admin"]), "{body}");
        assert_eq!(body["token_type"], "api_key");
    }
    // Another organization's API: inactive, and nothing else said.
    let body = introspect(&app, &globex_api, key).await;
    assert_eq!(body, json!({"active": false}));
    let (status, body) = exchange(&app, &globex_api, key, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Exchanged by acme's API: a token of acme with acme's roles.
    let (status, body) = exchange(&app, &acme_api, key, &[]).await;
    assert_eq!(status, 200, "{body}");
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["org_id"], w.acme.id.as_str(), "{at}");
    assert_eq!(at["org_name"], "Acme Inc.");
    assert_eq!(at["roles"], json!(["admin"]));
    assert_eq!(at["sub"], created["user_id"]);
    // Narrowed to api:read: the roles scope is not exchanged, nor the roles.
    let (status, body) = exchange(&app, &acme_api, key, &[("scope", "api:read")]).await;
    assert_eq!(status, 200, "{body}");
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert!(at.get("roles").is_none(), "{at}");
    assert_eq!(at["org_id"], w.acme.id.as_str());
    // The exchanged token is as invisible to globex as the key.
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(introspect(&app, &globex_api, &token).await["active"], false);
    assert_eq!(introspect(&app, &acme_api, &token).await["active"], true);

    // A key of no organization: global roles, and no organization's API accepts it.
    let global = tessera_json(
        &app,
        &[
            "apikey", "create", "--user", "alice", "--name", "own", "--scope", "roles",
        ],
    )
    .await;
    let global_key = global["key"].as_str().unwrap();
    let body = introspect(&app, &any_api, global_key).await;
    assert_eq!(body["roles"], json!(["staff"]), "{body}");
    assert!(body.get("org_id").is_none(), "{body}");
    assert_eq!(
        introspect(&app, &acme_api, global_key).await["active"],
        false
    );
    let (status, _) = exchange(&app, &acme_api, global_key, &[]).await;
    assert_eq!(status, 400);

    // alice leaves acme: her acme key is dead everywhere, and so is the token exchanged
    // for it; her global key is not.
    tessera_json(
        &app,
        &[
            "org",
            "remove-member",
            "--org",
            "acme",
            "--username",
            "alice",
        ],
    )
    .await;
    assert_eq!(introspect(&app, &acme_api, key).await["active"], false);
    assert_eq!(introspect(&app, &any_api, key).await["active"], false);
    assert_eq!(introspect(&app, &acme_api, &token).await["active"], false);
    let (status, _) = exchange(&app, &acme_api, key, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(introspect(&app, &any_api, global_key).await["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_key_belongs_to_the_client_organization() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut spec = machine_spec();
    spec.name = "Globex sync".into();
    let machine = app.add_client(spec).await;
    let id = machine.client_id.as_str();
    tessera_json(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            id,
            "--organization",
            "globex",
        ],
    )
    .await;
    tessera_json(
        &app,
        &["client", "grant-role", "--client-id", id, "--role", "admin"],
    )
    .await;

    let (ok, _, stderr) = tessera(
        &app,
        &[
            "apikey",
            "create",
            "--client",
            id,
            "--name",
            "x",
            "--organization",
            "acme",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("restricted to"), "{stderr}");
    let created = tessera_json(
        &app,
        &[
            "apikey", "create", "--client", id, "--name", "sync", "--scope", "roles",
        ],
    )
    .await;
    assert_eq!(
        created["organization_id"],
        w.globex.id.as_str(),
        "{created}"
    );
    let key = created["key"].as_str().unwrap();
    let globex_api = gateway_of(&app, "Globex API", Some("globex")).await;
    let acme_api = gateway_of(&app, "Acme API", Some("acme")).await;
    let body = introspect(&app, &globex_api, key).await;
    assert_eq!(body["roles"], json!(["admin"]), "{body}");
    assert_eq!(body["org_id"], w.globex.id.as_str());
    assert_eq!(introspect(&app, &acme_api, key).await["active"], false);

    // Moved to acme since: its globex key speaks for globex no more.
    tessera_json(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            id,
            "--organization",
            "acme",
        ],
    )
    .await;
    assert_eq!(introspect(&app, &globex_api, key).await["active"], false);
}

async fn client_credentials(app: &TestApp, machine: &Registered) -> Value {
    let response = app
        .post_basic(
            "/token",
            machine,
            &[("grant_type", "client_credentials"), ("scope", "api roles")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    jwt_claims(body["access_token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restriction_changed_by_the_cli_holds_at_once_on_a_second_instance() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let w = world(&app).await;
    let machine = app.add_client(machine_spec()).await;
    let id = machine.client_id.as_str();
    let grants = [("admin", &w.acme.id), ("viewer", &w.globex.id)];
    for (role, org) in grants {
        let within = Within::Organization(org);
        roles::grant(
            &app.state.db,
            role,
            Holder::Client(id),
            within,
            app.clock.now(),
        )
        .await
        .unwrap();
    }
    // Both instances have the unrestricted client cached.
    for instance in [&app, &other] {
        let at = client_credentials(instance, &machine).await;
        assert!(at.get("org_id").is_none(), "{at}");
        assert_eq!(at["roles"], json!([]), "no global roles: {at}");
    }
    tessera_json(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            id,
            "--organization",
            "acme",
        ],
    )
    .await;
    for instance in [&other, &app] {
        let at = client_credentials(instance, &machine).await;
        assert_eq!(at["org_id"], w.acme.id.as_str(), "{at}");
        assert_eq!(at["roles"], json!(["admin"]));
    }
    tessera_json(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            id,
            "--organization",
            "globex",
        ],
    )
    .await;
    let at = client_credentials(&other, &machine).await;
    assert_eq!(at["org_id"], w.globex.id.as_str(), "{at}");
    assert_eq!(at["roles"], json!(["viewer"]));
    tessera_json(
        &app,
        &["client", "update", "--client-id", id, "--no-organization"],
    )
    .await;
    let at = client_credentials(&other, &machine).await;
    assert!(at.get("org_id").is_none(), "{at}");
}
