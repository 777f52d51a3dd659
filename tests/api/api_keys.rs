#![allow(clippy::unwrap_used, clippy::expect_used)]
//! API keys end to end: made with the real CLI binary, introspected (RFC 7662) and exchanged
//! for access tokens (RFC 8693) over HTTP, revoked and refused at once on every instance —
//! and the key never in the log nor in clear in any table.
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;
use tessera::apikeys::{self, NewApiKey, Owner};
use tessera::clients::metadata::TOKEN_EXCHANGE;
use tessera::clients::ClientMetadata;
use tessera::clock::Clock;
use tessera::types::Scopes;

use crate::helpers::*;

pub const API_KEY_TYPE: &str = "urn:tessera:params:oauth:token-type:api_key";

/// The real binary against the server's database and master key: (success, stdout, stderr).
pub async fn tessera(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let keys = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_DATABASE_URL", &app.settings.database_url)
        .env("TESSERA_KEYS_DIR", keys.path())
        .env("TESSERA_MASTER_KEY", app.master_key())
        .env("TESSERA_ADMIN_LISTEN", "off")
        .env("TESSERA_LOG", "info")
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

/// `tessera ARGS --json`, which must succeed; its JSON output.
pub async fn tessera_json(app: &TestApp, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let (ok, stdout, stderr) = tessera(app, &args).await;
    assert!(ok, "tessera {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

/// A confidential client that may exchange API keys (a gateway in front of an API).
pub async fn gateway(app: &TestApp, name: &str) -> Registered {
    app.add_client(ClientMetadata {
        name: name.into(),
        grant_types: vec![TOKEN_EXCHANGE.into()],
        ..ClientMetadata::default()
    })
    .await
}

pub async fn introspect(app: &TestApp, client: &Registered, token: &str) -> Value {
    let response = app
        .post_basic("/introspect", client, &[("token", token)])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub async fn exchange(
    app: &TestApp,
    client: &Registered,
    key: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", key),
        ("subject_token_type", API_KEY_TYPE),
    ];
    form.extend_from_slice(extra);
    let response = app.post_basic("/token", client, &form).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Every value of every column of every table, as text.
async fn every_table(app: &TestApp) -> String {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let tables_sql = match backend {
        DbBackend::Postgres => {
            "SELECT CAST(tablename AS TEXT) AS name FROM pg_tables WHERE schemaname = 'public'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table'",
    };
    let tables = db
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .unwrap();
    let mut dump = String::new();
    for table in tables {
        let table: String = table.try_get("", "name").unwrap();
        let columns_sql = match backend {
            DbBackend::Postgres => format!(
                "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns WHERE table_name = '{table}'"
            ),
            _ => format!("SELECT name FROM pragma_table_info('{table}')"),
        };
        let columns = db
            .query_all_raw(Statement::from_string(backend, columns_sql))
            .await
            .unwrap();
        for column in columns {
            let column: String = column.try_get("", "name").unwrap();
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\""),
                ))
                .await
                .unwrap();
            for row in rows {
                let value: Option<String> = row.try_get("", "v").unwrap();
                dump.push_str(&format!("{table}.{column}={}\n", value.unwrap_or_default()));
            }
        }
    }
    assert!(
        dump.contains("api_keys.key_hash="),
        "the dump reads api_keys"
    );
    dump
}

#[tokio::test]
async fn an_api_key_is_created_used_exchanged_and_revoked_on_every_instance_never_in_clear() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let alice = app.add_user("alice").await;
    let gateway = gateway(&app, "Gateway").await;
    let plain = app.add_client(spec("Web app")).await;

    let created = tessera_json(
        &app,
        &[
            "apikey",
            "create",
            "--user",
            "alice",
            "--name",
            "CI deploys",
            "--scope",
            "api:read",
            "--scope",
            "api:write",
            "--expires-in",
            "30d",
        ],
    )
    .await;
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("tsk_") && key.len() == 42, "{key}");
    assert!(apikeys::format::is_well_formed(&key));
    let expires_at = created["expires_at"].as_i64().unwrap();
    assert!((expires_at - app.clock.now() - 30 * 86_400).abs() < 120);

    // Introspection by any confidential client, on either instance.
    for instance in [&app, &other] {
        let body = introspect(instance, &gateway, &key).await;
        assert_eq!(body["active"], true, "{body}");
        assert_eq!(body["sub"], alice.id.as_str());
        assert_eq!(body["username"], "alice");
        assert_eq!(body["scope"], "api:read api:write");
        assert_eq!(body["token_type"], "api_key");
        assert_eq!(body["exp"], expires_at);
        assert_eq!(body["jti"], id.as_str());
        assert!(
            body.get("roles").is_none(),
            "no roles scope, no roles: {body}"
        );
        assert!(body["iat"].as_i64().is_some());
        assert!(body.get("client_id").is_none(), "a user's key: {body}");
    }
    // A typo is caught by the checksum; a well-formed key we never made is unknown.
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        introspect(&app, &gateway, &typo).await,
        serde_json::json!({"active": false})
    );
    let unknown = apikeys::format::generate();
    assert_eq!(introspect(&app, &gateway, &unknown).await["active"], false);

    // Exchange: a short JWT access token, never wider than the key.
    let (status, token) = exchange(&app, &gateway, &key, &[("scope", "api:read")]).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "api:read");
    assert!(token["expires_in"].as_i64().unwrap() <= app.settings.access_token_ttl);
    assert!(token.get("refresh_token").is_none());
    let access_token = token["access_token"].as_str().unwrap().to_string();
    let claims = introspect(&other, &gateway, &access_token).await;
    assert_eq!(claims["active"], true, "{claims}");
    assert_eq!(claims["sub"], alice.id.as_str());
    assert_eq!(claims["client_id"], gateway.client_id.as_str());
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["token_type"], "Bearer");
    let (status, whole) = exchange(&app, &gateway, &key, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(whole["scope"], "api:read api:write");

    let (status, wider) = exchange(&app, &gateway, &key, &[("scope", "api:read api:admin")]).await;
    assert_eq!(
        (status, json_error(&wider)),
        (400, "invalid_scope"),
        "{wider}"
    );
    let (status, refused) = exchange(&app, &plain, &key, &[]).await;
    assert_eq!((status, json_error(&refused)), (400, "unauthorized_client"));
    let wrong_type: Value = app
        .post_basic(
            "/token",
            &gateway,
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &key),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json_error(&wrong_type), "invalid_request", "{wrong_type}");
    let (status, body) = exchange(&app, &gateway, &typo, &[]).await;
    assert_eq!((status, json_error(&body)), (400, "invalid_request"));
    let (status, body) = exchange(
        &app,
        &gateway,
        &key,
        &[("resource", "https://nowhere.example")],
    )
    .await;
    assert_eq!((status, json_error(&body)), (400, "invalid_target"));

    let metrics = http()
        .get(app.admin_url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("tessera_tokens_issued_total{grant_type=\"urn:ietf:params:oauth:grant-type:token-exchange\"} 2")),
        "{metrics}"
    );

    // Last use: noted in memory, written in a batch (here: flushed at once).
    let listed = tessera_json(&app, &["apikey", "list", "--user", "alice"]).await;
    assert_eq!(
        listed[0]["last_used_at"],
        Value::Null,
        "not written per request"
    );
    app.state.api_key_usage.flush().await;
    other.state.api_key_usage.flush().await;
    let listed = tessera_json(&app, &["apikey", "list", "--user", "alice"]).await;
    let row = &listed[0];
    assert_eq!(row["id"], id.as_str());
    assert_eq!(row["name"], "CI deploys");
    assert!(key.starts_with(row["prefix"].as_str().unwrap()));
    assert_eq!(row["prefix"].as_str().unwrap().len(), 12);
    assert_eq!(row["scope"], "api:read api:write");
    assert_eq!(row["expires_at"], expires_at);
    assert_eq!(row["state"], "active");
    assert!(row["last_used_at"].as_i64().is_some(), "{row}");
    assert!(row.get("key").is_none() && row.get("key_hash").is_none());
    let (ok, text, _) = tessera(&app, &["apikey", "list"]).await;
    assert!(ok);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "PREFIX",
            "OWNER",
            "SCOPE",
            "CREATED",
            "EXPIRES",
            "LAST_USED",
            "STATE"
        ]
    );

    // Revoked: refused at once on both instances, and so are the tokens exchanged for it.
    let revoked = tessera_json(&app, &["apikey", "revoke", &id]).await;
    assert_eq!(revoked["revoked"], true);
    for instance in [&app, &other] {
        assert_eq!(introspect(instance, &gateway, &key).await["active"], false);
        assert_eq!(
            introspect(instance, &gateway, &access_token).await["active"],
            false
        );
        let (status, body) = exchange(instance, &gateway, &key, &[]).await;
        assert_eq!((status, json_error(&body)), (400, "invalid_request"));
    }
    let (ok, _, stderr) = tessera(&app, &["apikey", "revoke", &id, "--json"]).await;
    assert!(!ok && stderr.contains("already revoked"), "{stderr}");
    let listed = tessera_json(&app, &["apikey", "list"]).await;
    assert_eq!(listed[0]["state"], "revoked");

    // Audited, by id.
    app.state.audit.flush().await;
    other.state.audit.flush().await;
    let events = tessera_json(&app, &["audit", "list"]).await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["api_key_created", "api_key_exchanged", "api_key_revoked"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(events.to_string().contains(&format!("api_key:{id}")));

    // Never in clear: not in the log, not in any table (the hash is not the key).
    let log = crate::logs::lines_with("").join("\n");
    let tables = every_table(&app).await;
    for secret in [key.as_str(), &key[4..], access_token.as_str()] {
        assert!(!log.contains(secret), "the log holds {secret}");
        assert!(!tables.contains(secret), "a table holds {secret}");
    }
}

#[tokio::test]
async fn an_expired_key_is_refused_and_its_tokens_never_outlive_it() {
    let app = spawn_app().await;
    let bob = app.add_user("bob").await;
    let gateway = gateway(&app, "Gateway").await;
    let (row, key) = apikeys::create(
        &app.state.db,
        &app.state.keys,
        NewApiKey {
            owner: Owner::User(bob.id.clone()),
            name: "short".into(),
            scope: Some(Scopes::parse("api:read").unwrap()),
            lifetime: Some(100),
            organization_id: None,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    app.clock.advance(40);
    let (status, token) = exchange(&app, &gateway, key.expose(), &[]).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["expires_in"], 60, "capped at the key's expiry");
    app.clock.advance(60);
    assert_eq!(
        introspect(&app, &gateway, key.expose()).await["active"],
        false
    );
    let (status, body) = exchange(&app, &gateway, key.expose(), &[]).await;
    assert_eq!((status, json_error(&body)), (400, "invalid_request"));
    assert_eq!(row.expires_at, Some(row.created_at + 100));

    // A disabled user's keys stop working too.
    app.clock.advance(-100);
    let (_, live) = apikeys::create(
        &app.state.db,
        &app.state.keys,
        NewApiKey {
            owner: Owner::User(bob.id.clone()),
            name: "long".into(),
            scope: None,
            lifetime: None,
            organization_id: None,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        introspect(&app, &gateway, live.expose()).await["active"],
        true
    );
    tessera::storage::users::set_disabled(&app.state.db, "bob", true, app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        introspect(&app, &gateway, live.expose()).await["active"],
        false
    );
}

#[tokio::test]
async fn client_keys_act_for_the_client_within_its_scopes() {
    let app = spawn_app().await;
    let gateway = gateway(&app, "Gateway").await;
    let service = app
        .add_client(ClientMetadata {
            name: "Nightly job".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["reports:read".into(), "reports:write".into()],
            ..ClientMetadata::default()
        })
        .await;
    let created = tessera_json(
        &app,
        &[
            "apikey",
            "create",
            "--client",
            &service.client_id,
            "--name",
            "cron",
            "--expires-in",
            "never",
        ],
    )
    .await;
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["scope"], "reports:read reports:write");
    let key = created["key"].as_str().unwrap();
    let body = introspect(&app, &gateway, key).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], service.client_id.as_str());
    assert_eq!(body["client_id"], service.client_id.as_str());
    assert!(body.get("exp").is_none());

    // Refused with a reason: wider than the client, unknown owners, a public client, openid.
    let public = app.add_public_client().await;
    for (args, reason) in [
        (
            vec!["--client", service.client_id.as_str(), "--scope", "admin"],
            "exceeds",
        ),
        (vec!["--client", "nobody"], "no such client"),
        (vec!["--user", "nobody"], "no user nobody"),
        (vec!["--client", public.client_id.as_str()], "confidential"),
        (
            vec!["--client", service.client_id.as_str(), "--scope", "openid"],
            "openid",
        ),
        (
            vec!["--client", service.client_id.as_str(), "--expires-in", "3w"],
            "unit",
        ),
    ] {
        let mut full = vec!["apikey", "create", "--name", "x", "--json"];
        full.extend(args.iter().copied());
        let (ok, _, stderr) = tessera(&app, &full).await;
        assert!(!ok, "{full:?}");
        let error: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(reason),
            "{full:?}: {stderr}"
        );
    }
    let (ok, _, stderr) = tessera(&app, &["apikey", "create", "--name", "x"]).await;
    assert!(!ok && stderr.contains("--user"), "{stderr}");

    // The account page's functions: a user revokes only their own keys.
    let carol = app.add_user("carol").await;
    let dave = app.add_user("dave").await;
    let (row, _) = apikeys::create(
        &app.state.db,
        &app.state.keys,
        NewApiKey {
            owner: Owner::User(carol.id.clone()),
            name: "laptop".into(),
            scope: None,
            lifetime: Some(3600),
            organization_id: None,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    let mine = apikeys::list(&app.state.db, Some(&Owner::User(carol.id.clone())))
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert!(
        !apikeys::revoke(&app.state.db, &row.id, Some(&dave.id), app.clock.now())
            .await
            .unwrap()
    );
    assert!(
        apikeys::revoke(&app.state.db, &row.id, Some(&carol.id), app.clock.now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn discovery_and_client_rules_know_the_token_exchange_grant() {
    let app = spawn_app().await;
    let doc: Value = http()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from(TOKEN_EXCHANGE)));
    let public = tessera::clients::metadata::validate(ClientMetadata {
        name: "x".into(),
        public: true,
        grant_types: vec![TOKEN_EXCHANGE.into()],
        ..ClientMetadata::default()
    });
    assert!(public.is_err(), "a public client cannot exchange");
}
