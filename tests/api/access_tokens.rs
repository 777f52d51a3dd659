#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Access tokens: client credentials with every authentication method, RFC 9068 JWTs checked
//! with an independent JOSE library, introspection, revocation, userinfo refusals.
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::types::AuthMethod;

use crate::helpers::*;
use crate::tokens::{code_flow_tokens, introspect};

pub fn cc_spec(method: AuthMethod) -> tessera::clients::ClientMetadata {
    let mut s = spec("Machine");
    s.redirect_uris = vec![];
    s.grant_types = vec!["client_credentials".into()];
    s.scopes = vec!["api:read".into(), "api:write".into()];
    s.auth_method = Some(method);
    s
}

#[tokio::test]
async fn client_credentials_with_basic_and_post() {
    let app = spawn_app().await;
    let basic = app.add_client(cc_spec(AuthMethod::ClientSecretBasic)).await;
    let response = app
        .post_basic(
            "/token",
            &basic,
            &[("grant_type", "client_credentials"), ("scope", "api:read")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api:read");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());

    let widened = app
        .post_basic(
            "/token",
            &basic,
            &[("grant_type", "client_credentials"), ("scope", "api:admin")],
        )
        .await;
    assert_eq!(widened.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_error(&widened.json().await.unwrap()), "invalid_scope");

    let post = app.add_client(cc_spec(AuthMethod::ClientSecretPost)).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", post.client_id.as_str()),
        ("client_secret", post.secret.as_deref().unwrap()),
    ];
    let response = http()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Each client is held to its registered method.
    let response = app
        .post_basic("/token", &post, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_and_code_only_clients_cannot_use_client_credentials() {
    let app = spawn_app().await;
    let public = app.add_public_client().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", public.client_id.as_str()),
    ];
    let response = http()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "unauthorized_client"
    );
    let code_only = app.add_client(spec("App")).await;
    let response = app
        .post_basic(
            "/token",
            &code_only,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "unauthorized_client"
    );
}

#[tokio::test]
async fn private_key_jwt_client_authenticates_once_per_assertion() {
    let app = spawn_app().await;
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let jwks = public_jwks(&pair, "k1");
    let mut s = cc_spec(AuthMethod::PrivateKeyJwt);
    s.jwks = Some(jwks);
    let client = app.add_client(s).await;
    assert!(client.secret.is_none());

    let assertion = client_assertion(&app, &pair, "k1", &client.client_id, "assertion-1");
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = http()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let replay = http()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_error(&replay.json().await.unwrap()), "invalid_client");
}

#[tokio::test]
async fn jwt_access_token_verifies_with_an_independent_jose_library() {
    let app = spawn_app().await;
    let client = app.add_client(cc_spec(AuthMethod::ClientSecretBasic)).await;
    let response = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await;
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();

    let jwks: jsonwebtoken::jwk::JwkSet = get_json(app.url("/jwks")).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[&app.base]);
    validation.set_audience(&[&app.base]);
    let data = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
    ] {
        assert!(
            data.claims.get(claim).is_some(),
            "RFC 9068 claim {claim} missing"
        );
    }
    assert_eq!(data.claims["client_id"], client.client_id.as_str());
    for key in jwks.keys {
        let key = serde_json::to_value(&key).unwrap();
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "private member published"
        );
    }
}

#[tokio::test]
async fn introspection_and_revocation() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let other = app.add_client(spec("Other")).await;
    let tokens = code_flow_tokens(&app, &client, "openid profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    let active = introspect(&app, &client, access).await;
    assert_eq!(active["active"], true);
    for field in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "aud",
        "iss",
        "token_type",
    ] {
        assert!(active.get(field).is_some(), "{field} missing: {active}");
    }
    assert_eq!(
        introspect(&app, &other, access).await,
        json!({"active": false}),
        "foreign token"
    );
    assert_eq!(
        introspect(&app, &client, refresh_token).await["active"],
        true
    );
    assert_eq!(
        introspect(&app, &client, "garbage").await,
        json!({"active": false})
    );

    // Revoking the access token: introspection and userinfo refuse it; unknown tokens get 200.
    let response = app
        .post_basic("/revoke", &client, &[("token", access)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &client, access).await,
        json!({"active": false})
    );
    assert_eq!(app.userinfo_status(access).await, StatusCode::UNAUTHORIZED);
    let response = app
        .post_basic("/revoke", &client, &[("token", "unknown-token")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Revoking the refresh token revokes the family.
    let response = app
        .post_basic(
            "/revoke",
            &client,
            &[
                ("token", refresh_token),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &client, refresh_token).await,
        json!({"active": false})
    );
    let (status, _) = refresh(&app, &client, refresh_token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expired_access_token_is_inactive() {
    let app = spawn_app().await;
    let client = app.add_client(cc_spec(AuthMethod::ClientSecretBasic)).await;
    let body: Value = app
        .post_basic("/token", &client, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &client, token).await["active"], true);
    app.clock.advance(app.settings.access_token_ttl + 1);
    assert_eq!(
        introspect(&app, &client, token).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn userinfo_refuses_forged_unsigned_and_missing_tokens() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let tokens = code_flow_tokens(&app, &client, "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let none_header = b64.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let unsigned = format!("{none_header}.{}.", b64.encode(claims.to_string()));
    for bad in [tampered.as_str(), unsigned.as_str(), "not-a-jwt"] {
        let response = http()
            .get(app.url("/userinfo"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
    let response = http().get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let response = http()
        .post(app.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "form-encoded body token (RFC 6750 §2.2)"
    );
}

#[tokio::test]
async fn resource_indicator_sets_audience_and_deleting_the_client_kills_its_tokens() {
    let app = spawn_app_with(|s| s.resources = vec!["https://api.example.com".into()]).await;
    let machine = app.add_client(cc_spec(AuthMethod::ClientSecretBasic)).await;
    let mut rs = cc_spec(AuthMethod::ClientSecretBasic);
    rs.client_id = Some("https://api.example.com".into());
    let resource_server = app.add_client(rs).await;
    let other = app.add_client(cc_spec(AuthMethod::ClientSecretBasic)).await;

    let response = app
        .post_basic(
            "/token",
            &machine,
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(
        json_error(&response.json().await.unwrap()),
        "invalid_target"
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", "https://api.example.com"),
    ];
    let body: Value = app
        .post_basic("/token", &machine, &form)
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    let seen = introspect(&app, &resource_server, token).await;
    assert_eq!(
        (seen["active"].clone(), seen["aud"].clone()),
        (json!(true), json!("https://api.example.com"))
    );
    assert_eq!(
        introspect(&app, &other, token).await,
        json!({"active": false}),
        "neither owner nor audience"
    );

    tessera::storage::clients::remove(&app.state.db, &machine.client_id, 0)
        .await
        .unwrap();
    tokio::time::sleep(tessera::storage::client_cache::VISIBLE_AFTER).await;
    assert_eq!(
        introspect(&app, &resource_server, token).await,
        json!({"active": false})
    );
}
