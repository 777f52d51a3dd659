#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Dynamic client registration (RFC 7591) and client configuration (RFC 7592): the
//! `openidconnect` crate registers and signs in; every metadata rule and token refusal is
//! checked on the wire.
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClientRegistrationRequest, CoreGrantType, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AuthorizationCode, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RegistrationUrl, Scope, TokenResponse as _,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::config::RegistrationPolicy;
use tessera::secrets::{random_token, token_hash};
use tessera::storage::registration_tokens::{self, RegistrationToken};

use crate::helpers::*;

/// An initial access token good for `uses` registrations during `ttl` seconds, stored as
/// `tessera registration-token create` stores it.
async fn initial_token(app: &TestApp, uses: i64, ttl: i64) -> String {
    let token = random_token(32);
    let now = app.clock.now();
    registration_tokens::insert(
        &app.state.db,
        RegistrationToken {
            id: random_token(6),
            token_hash: token_hash(&token),
            uses_left: uses,
            expires_at: now + ttl,
            created_at: now,
        },
    )
    .await
    .unwrap();
    token
}

/// POST /register with `body` (sent as is) and an optional bearer token.
async fn register_raw(
    app: &TestApp,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = http()
        .post(app.url("/register"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value, headers)
}

async fn register(app: &TestApp, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let (status, value, _) = register_raw(app, token, &body.to_string()).await;
    (status, value)
}

fn web_app() -> Value {
    json!({"client_name": "Registered app", "redirect_uris": [REDIRECT_URI]})
}

#[tokio::test]
async fn a_client_registered_with_openidconnect_completes_the_code_flow() {
    let app = spawn_app().await;
    let user = app.add_user("alice").await;
    let token = initial_token(&app, 1, 3600).await;
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http())
            .await
            .unwrap();
    let endpoint: RegistrationUrl = provider.registration_endpoint().unwrap().clone();
    assert_eq!(endpoint.as_str(), app.url("/register"));

    let response = CoreClientRegistrationRequest::new(
        vec![RedirectUrl::new(REDIRECT_URI.into()).unwrap()],
        openidconnect::registration::EmptyAdditionalClientMetadata {},
    )
    .set_grant_types(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
    ]))
    .set_initial_access_token(Some(AccessToken::new(token)))
    .register_async(&endpoint, &http())
    .await
    .expect("registration");
    let registered = Registered {
        client_id: response.client_id().to_string(),
        secret: response.client_secret().map(|s| s.secret().clone()),
    };
    assert!(
        registered.secret.is_some(),
        "a confidential client by default"
    );
    assert!(response.registration_access_token().is_some());
    assert_eq!(
        response.registration_client_uri().unwrap().as_str(),
        app.url(&format!("/register/{}", registered.client_id))
    );

    let client = app.oidc_client(&registered).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let outcome = Browser::new(&app)
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(outcome.code()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), user.id);
    assert!(tokens.refresh_token().is_some());
}

#[tokio::test]
async fn the_answer_echoes_the_metadata_with_the_credentials() {
    let app = spawn_app().await;
    let token = initial_token(&app, 1, 3600).await;
    let (status, body) = register(
        &app,
        Some(&token),
        json!({
            "client_name": "Full app",
            "redirect_uris": [REDIRECT_URI, "com.example.app:/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid email",
            "id_token_signed_response_alg": "ES256",
            "token_endpoint_auth_method": "client_secret_post",
            "client_uri": "https://app.example.com",
            "logo_uri": "https://app.example.com/logo.png",
            "policy_uri": "https://app.example.com/privacy",
            "tos_uri": "https://app.example.com/terms",
            "post_logout_redirect_uris": ["https://app.example.com/bye"],
            "backchannel_logout_uri": "https://app.example.com/bc",
            "backchannel_logout_session_required": true,
            "allowed_cors_origins": ["https://app.example.com"],
            "software_id": "ignored, as RFC 7591 says of unknown fields"
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (field, value) in [
        ("client_name", json!("Full app")),
        ("scope", json!("email openid")),
        ("id_token_signed_response_alg", json!("ES256")),
        ("token_endpoint_auth_method", json!("client_secret_post")),
        ("response_types", json!(["code"])),
        ("client_uri", json!("https://app.example.com")),
        ("tos_uri", json!("https://app.example.com/terms")),
        (
            "post_logout_redirect_uris",
            json!(["https://app.example.com/bye"]),
        ),
        (
            "backchannel_logout_uri",
            json!("https://app.example.com/bc"),
        ),
        ("backchannel_logout_session_required", json!(true)),
        ("allowed_cors_origins", json!(["https://app.example.com"])),
        ("client_secret_expires_at", json!(0)),
        ("client_id_issued_at", json!(app.clock.now())),
    ] {
        assert_eq!(body[field], value, "{field}");
    }
    assert!(body["client_secret"].as_str().unwrap().len() >= 43);
    assert!(body.get("software_id").is_none());

    // A public native client gets no secret.
    let token = initial_token(&app, 1, 3600).await;
    let (status, body) = register(
        &app,
        Some(&token),
        json!({"redirect_uris": ["http://127.0.0.1:7000/cb"], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("client_secret").is_none());
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code"]),
        "RFC 7591 default"
    );
}

#[tokio::test]
async fn each_metadata_rule_answers_its_rfc_7591_error() {
    let app = spawn_app().await;
    let token = initial_token(&app, 100, 3600).await;
    let redirect = |uris: Value| json!({"redirect_uris": uris});
    for (body, error) in [
        (json!({}), "invalid_redirect_uri"),
        (
            redirect(json!(["https://app.example.com/cb#x"])),
            "invalid_redirect_uri",
        ),
        (
            redirect(json!(["https://*.example.com/cb"])),
            "invalid_redirect_uri",
        ),
        (
            redirect(json!(["http://app.example.com/cb"])),
            "invalid_redirect_uri",
        ),
        (redirect(json!(["/cb"])), "invalid_redirect_uri"),
        (redirect(json!(["myapp:/cb"])), "invalid_redirect_uri"),
        (
            redirect(json!(["javascript:alert(1)"])),
            "invalid_redirect_uri",
        ),
        (
            redirect(json!("https://app.example.com/cb")),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "api"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example.com/jwks", "jwks": {"keys": []}}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://app.example.com/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "jwks_uri": "https://app.example.com/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "id_token_signed_response_alg": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "id_token_signed_response_alg": "HS256"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "client_uri": "http://app.example.com"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "logo_uri": "data:image/png,x"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "policy_uri": 7}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "scope": "a\"b"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "post_logout_redirect_uris": ["https://a.example/#x"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "backchannel_logout_uri": "http://app.example.com/bc"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "allowed_cors_origins": ["https://a.example/path"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "backchannel_logout_session_required": "yes"}),
            "invalid_client_metadata",
        ),
    ] {
        let (status, answer) = register(&app, Some(&token), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"], error, "{body}: {answer}");
        assert!(answer["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
    // Bodies that are not a JSON object: 400 with the same JSON.
    for body in ["", "{", "not json", "[]", "42", "null", "\"text\""] {
        let (status, answer, headers) = register_raw(&app, Some(&token), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"], "invalid_client_metadata", "{body}");
        assert_eq!(headers["content-type"], "application/json");
    }
    // A body over the server's limit is refused before it is read.
    let huge = format!("{{\"client_name\": \"{}\"}}", "x".repeat(70_000));
    let (status, _, _) = register_raw(&app, Some(&token), &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // None of the refusals used the token up.
    let (status, _) = register(&app, Some(&token), web_app()).await;
    assert_eq!(status, StatusCode::CREATED);
    let left = registration_tokens::list(&app.state.db).await.unwrap()[0].uses_left;
    assert_eq!(left, 99);
}

#[tokio::test]
async fn initial_access_tokens_missing_wrong_expired_or_used_up_are_401() {
    let app = spawn_app().await;
    let once = initial_token(&app, 1, 3600).await;
    let expiring = initial_token(&app, 5, 60).await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, body, headers) = register_raw(&app, token, &web_app().to_string()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["error"], "invalid_token");
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    let (status, _) = register(&app, Some(&once), web_app()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = register(&app, Some(&once), web_app()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used up"),
        "{body}"
    );

    app.clock.advance(61);
    let (status, body) = register(&app, Some(&expiring), web_app()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    assert_eq!(
        tessera::storage::clients::list(&app.state.db)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn concurrent_registrations_never_overuse_a_token() {
    let app = spawn_app().await;
    let token = initial_token(&app, 3, 3600).await;
    let attempts = (0..8).map(|_| register(&app, Some(&token), web_app()));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::CREATED || *s == StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn the_policy_decides_who_may_register() {
    let open = spawn_app_with(|s| s.registration = RegistrationPolicy::Open).await;
    let (status, body) = register(&open, None, web_app()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let off = spawn_app_with(|s| s.registration = RegistrationPolicy::Off).await;
    let discovery: Value = get_json(off.url("/.well-known/openid-configuration")).await;
    assert!(discovery.get("registration_endpoint").is_none());
    let (status, _) = register(&off, None, web_app()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let token = spawn_app().await;
    let discovery: Value = get_json(token.url("/.well-known/oauth-authorization-server")).await;
    assert_eq!(discovery["registration_endpoint"], token.url("/register"));
}

/// A registered client and its configuration endpoint credentials.
async fn registered(app: &TestApp) -> (Value, String, String) {
    let token = initial_token(app, 1, 3600).await;
    let (status, body) = register(app, Some(&token), web_app()).await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = body["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let rat = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_string();
    (body, uri, rat)
}

#[tokio::test]
async fn the_registration_access_token_reads_replaces_and_deletes_the_client() {
    let app = spawn_app().await;
    let (created, uri, rat) = registered(&app).await;
    let client = Registered {
        client_id: created["client_id"].as_str().unwrap().into(),
        secret: created["client_secret"].as_str().map(str::to_string),
    };

    let response = http().get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["client_id"], created["client_id"]);
    assert_eq!(read["redirect_uris"], json!([REDIRECT_URI]));
    assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());

    // PUT replaces, validated like a registration; the secret is kept.
    let replacement = json!({
        "client_id": client.client_id,
        "client_name": "Renamed",
        "redirect_uris": ["https://app.example.com/new"],
        "grant_types": ["authorization_code", "refresh_token"],
    });
    let put = |body: Value| http().put(&uri).bearer_auth(&rat).json(&body).send();
    let response = put(replacement.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["client_name"], "Renamed");
    assert_eq!(
        replaced["redirect_uris"],
        json!(["https://app.example.com/new"])
    );
    assert!(replaced.get("client_secret").is_none(), "the secret stays");
    let stored = tessera::storage::clients::find(&app.state.db, &client.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Renamed");
    let mut bad = replacement.clone();
    bad["redirect_uris"] = json!(["https://app.example.com/#frag"]);
    let response = put(bad).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_redirect_uri"
    );
    let mut other = replacement.clone();
    other["client_id"] = json!("someone-else");
    assert_eq!(put(other).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let mut without_id = replacement.clone();
    without_id.as_object_mut().unwrap().remove("client_id");
    assert_eq!(
        put(without_id).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let mut wrong_secret = replacement.clone();
    wrong_secret["client_secret"] = json!("not-the-secret");
    assert_eq!(
        put(wrong_secret).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let mut right_secret = replacement.clone();
    right_secret["client_secret"] = json!(client.secret.clone().unwrap());
    assert_eq!(put(right_secret).await.unwrap().status(), StatusCode::OK);
    let response = http()
        .put(&uri)
        .bearer_auth(&rat)
        .body("[")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The client still works with its secret, until it is deleted.
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "no client_credentials grant, but authenticated"
    );
    let response = http().delete(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = http().get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(tessera::storage::client_cache::VISIBLE_AFTER).await;
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "deleted");
}

#[tokio::test]
async fn a_wrong_or_missing_registration_access_token_is_401() {
    let app = spawn_app().await;
    let (_, uri, rat) = registered(&app).await;
    let (_, other_uri, other_rat) = registered(&app).await;
    // A client added by the CLI has no registration access token at all.
    let cli_client = app.add_client(spec("CLI app")).await;
    let cli_uri = app.url(&format!("/register/{}", cli_client.client_id));
    let unknown_uri = app.url("/register/nobody");
    for (method, target, token) in [
        ("GET", &uri, None),
        ("GET", &uri, Some("wrong")),
        ("GET", &uri, Some(other_rat.as_str())),
        ("PUT", &uri, Some(other_rat.as_str())),
        ("DELETE", &uri, None),
        ("DELETE", &uri, Some(other_rat.as_str())),
        ("GET", &cli_uri, Some(rat.as_str())),
        ("GET", &unknown_uri, Some(rat.as_str())),
    ] {
        let mut request = http()
            .request(method.parse().unwrap(), target.as_str())
            .json(&web_app());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {target} {token:?}"
        );
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_token"
        );
    }
    // Nothing was changed or deleted.
    let response = http().get(&uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http()
        .get(&other_uri)
        .bearer_auth(&other_rat)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn open_registration_is_rate_limited_per_minute() {
    let app = spawn_app_with(|s| s.registration = RegistrationPolicy::Open).await;
    // Start at a minute boundary so that the window cannot turn during the loop.
    app.clock.advance(60 - app.clock.now().rem_euclid(60));
    let limit = tessera::clients::registration::OPEN_PER_MINUTE;
    for _ in 0..limit {
        let (status, body) = register(&app, None, web_app()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body, headers) = register_raw(&app, None, &web_app().to_string()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(headers["retry-after"], "60");
    app.clock.advance(60);
    let (status, _) = register(&app, None, web_app()).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_database_of_the_previous_version_is_upgraded_in_place() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let old = app.add_client(spec("Old app")).await;
    // Back to the schema before m20261201_000100: its columns and table gone, and the
    // migration not recorded.
    let db = &app.state.db;
    for column in [
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "backchannel_logout_session_required",
        "allowed_cors_origins",
        "registration_token_hash",
    ] {
        db.execute_unprepared(&format!("ALTER TABLE clients DROP COLUMN {column}"))
            .await
            .unwrap();
    }
    db.execute_unprepared("DROP TABLE registration_tokens")
        .await
        .unwrap();
    db.execute_unprepared(
        "DELETE FROM seaql_migrations WHERE version = 'm20261201_000100_client_metadata'",
    )
    .await
    .unwrap();

    // The new version starts on that database (a new process: no statement cached on the
    // old schema).
    let app = spawn_app_sharing(&app).await;
    let db = &app.state.db;
    let client = tessera::storage::clients::find(db, &old.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.name, "Old app");
    assert!(
        client.post_logout_redirect_uris.is_empty() && client.registration_token_hash.is_none()
    );
    let token = initial_token(&app, 1, 3600).await;
    let (status, body) = register(&app, Some(&token), web_app()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The old client still authenticates.
    let response = app
        .post_basic("/token", &old, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "authenticated; no such grant"
    );
}
