#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Resources as data: registered with the real CLI and effective at once on every instance;
//! a token requested for one carries its URI in `aud`, its introspecting clients (and no
//! other client) may introspect it, and scopes of another resource are dropped.
use serde_json::Value;
use tessera::clients::ClientMetadata;

use crate::api_keys::{introspect, tessera, tessera_json};
use crate::helpers::*;

const API: &str = "https://api.example.com";

async fn machine_client(app: &TestApp, scopes: &[&str]) -> Registered {
    app.add_client(ClientMetadata {
        name: "Machine".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..ClientMetadata::default()
    })
    .await
}

async fn client_credentials(
    app: &TestApp,
    client: &Registered,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let response = app.post_basic("/token", client, &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

fn aud(app: &TestApp, token: &Value) -> Value {
    let jwt = token["access_token"].as_str().unwrap();
    let claims = tessera::jose::jwt::verify(&app.state.keys, jwt, "at+jwt").unwrap();
    claims["aud"].clone()
}

#[tokio::test]
async fn a_resource_added_with_the_cli_is_introspected_by_its_client_only_on_every_instance() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let machine = machine_client(&app, &["api:read", "reports"]).await;
    let api_server = machine_client(&app, &["none"]).await;
    let stranger = machine_client(&app, &["none"]).await;

    // Before: unknown resource.
    let (status, body) = client_credentials(&app, &machine, &[("resource", API)]).await;
    assert_eq!((status, json_error(&body)), (400, "invalid_target"));

    let added = tessera_json(
        &app,
        &[
            "resource",
            "add",
            "--uri",
            API,
            "--name",
            "Example API",
            "--scope",
            "api:read",
            "--introspecting-client",
            &api_server.client_id,
        ],
    )
    .await;
    assert_eq!(added["uri"], API);
    assert_eq!(added["scopes"], serde_json::json!(["api:read"]));
    assert_eq!(
        added["introspecting_clients"],
        serde_json::json!([api_server.client_id])
    );

    for instance in [&app, &other] {
        let (status, token) = client_credentials(
            instance,
            &machine,
            &[("resource", API), ("scope", "api:read reports")],
        )
        .await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(aud(instance, &token), API);
        assert_eq!(token["scope"], "api:read reports");
        let jwt = token["access_token"].as_str().unwrap();
        let seen = introspect(instance, &api_server, jwt).await;
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(seen["aud"], API);
        assert_eq!(
            introspect(instance, &stranger, jwt).await,
            serde_json::json!({"active": false})
        );
        // Its owner still may.
        assert_eq!(introspect(instance, &machine, jwt).await["active"], true);
    }

    // A scope of the resource, asked for without it (or for another target), is dropped.
    let (status, token) =
        client_credentials(&app, &machine, &[("scope", "api:read reports")]).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "reports");

    // The list.
    let (ok, text, _) = tessera(&app, &["resource", "list"]).await;
    assert!(ok);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["URI", "NAME", "SCOPES", "INTROSPECTING_CLIENTS"]);
    assert_eq!(lines[1][0], API);

    // Changes count at once: no introspecting client left, then the resource removed.
    let (status, token) = client_credentials(&app, &machine, &[("resource", API)]).await;
    assert_eq!(status, 200);
    let jwt = token["access_token"].as_str().unwrap().to_string();
    let updated = tessera_json(
        &app,
        &[
            "resource",
            "update",
            "--uri",
            API,
            "--no-introspecting-clients",
        ],
    )
    .await;
    assert_eq!(updated["introspecting_clients"], serde_json::json!([]));
    assert_eq!(updated["scopes"], serde_json::json!(["api:read"]), "kept");
    for instance in [&app, &other] {
        assert_eq!(
            introspect(instance, &api_server, &jwt).await["active"],
            false
        );
    }
    let removed = tessera_json(&app, &["resource", "remove", "--uri", API]).await;
    assert_eq!(removed["removed"], true);
    for instance in [&app, &other] {
        let (status, body) = client_credentials(instance, &machine, &[("resource", API)]).await;
        assert_eq!((status, json_error(&body)), (400, "invalid_target"));
    }
    let events = tessera_json(&app, &["audit", "list"]).await.to_string();
    assert!(events.contains("resource_changed") && events.contains(&format!("resource:{API}")));
}

#[tokio::test]
async fn the_cli_refuses_resources_that_break_the_rules() {
    let app = spawn_app().await;
    let public = app.add_public_client().await;
    for (args, reason) in [
        (vec!["--uri", "/relative"], "absolute"),
        (vec!["--uri", "https://api.example.com#frag"], "fragment"),
        (vec!["--uri", API, "--scope", "openid"], "OpenID Connect"),
        (
            vec!["--uri", API, "--introspecting-client", "ghost"],
            "no client ghost",
        ),
        (
            vec!["--uri", API, "--introspecting-client", &public.client_id],
            "public",
        ),
    ] {
        let mut full = vec!["resource", "add", "--json"];
        full.extend(args.iter().copied());
        let (ok, _, stderr) = tessera(&app, &full).await;
        assert!(!ok, "{full:?}");
        assert!(stderr.contains(reason), "{full:?}: {stderr}");
    }
    tessera_json(&app, &["resource", "add", "--uri", API]).await;
    let (ok, _, stderr) = tessera(&app, &["resource", "add", "--uri", API]).await;
    assert!(!ok && stderr.contains("already registered"), "{stderr}");
    let (ok, _, stderr) = tessera(
        &app,
        &["resource", "remove", "--uri", "https://nope.example"],
    )
    .await;
    assert!(!ok && stderr.contains("no resource"), "{stderr}");
}

#[tokio::test]
async fn tessera_resources_is_a_bootstrap_beside_registered_resources() {
    let boot = "https://boot.example.com";
    let app = spawn_app_with(|s| s.resources = vec![boot.into()]).await;
    let machine = machine_client(&app, &["api:read", "reports"]).await;
    tessera_json(
        &app,
        &["resource", "add", "--uri", API, "--scope", "api:read"],
    )
    .await;

    let (status, token) = client_credentials(
        &app,
        &machine,
        &[("resource", boot), ("scope", "api:read reports")],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(aud(&app, &token), boot);
    assert_eq!(
        token["scope"], "reports",
        "a scope of another resource is dropped"
    );
    let (status, token) = client_credentials(&app, &machine, &[("resource", API)]).await;
    assert_eq!(status, 200);
    assert_eq!(aud(&app, &token), API);
    assert_eq!(token["scope"], "api:read reports");
    // Not stored, so not listed (nor removable) by the CLI.
    let listed = tessera_json(&app, &["resource", "list"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
