#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The authorization-code flow with PKCE, end to end with the `openidconnect` relying party.
use openidconnect::core::{CoreAuthenticationFlow, CoreJwsSigningAlgorithm, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    Scope, TokenResponse as _,
};
use reqwest::StatusCode;
use tessera::types::SigningAlg;

use crate::helpers::*;

/// Discovery → authorize (PKCE, nonce) → login → consent → code → token → ID token verified
/// against the JWKS → userinfo, for a client with the given ID-token algorithm.
async fn full_flow(alg: SigningAlg) {
    let app = spawn_app().await;
    let user = app.add_user("alice").await;
    let mut s = spec("Photo app");
    s.id_token_alg = alg;
    let registered = app.add_client(s).await;
    let client = app.oidc_client(&registered).await;

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new(&app);
    let outcome = browser
        .journey(auth_url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    assert_eq!(
        outcome.param("state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        outcome.param("iss").as_deref(),
        Some(app.base.as_str()),
        "RFC 9207 iss"
    );

    let tokens = client
        .exchange_code(AuthorizationCode::new(outcome.code()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let expected_alg = match alg {
        SigningAlg::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        SigningAlg::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    };
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![expected_alg.clone()]);
    let id_token = tokens.id_token().expect("id_token");
    let claims = id_token.claims(&verifier, &nonce).expect("valid ID token");
    assert_eq!(claims.subject().as_str(), user.id);
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert!(claims.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    assert_eq!(id_token.signing_alg().unwrap(), &expected_alg);
    assert!(tokens.refresh_token().is_some());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http())
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
}

#[tokio::test]
async fn rs256_client_completes_the_code_flow() {
    full_flow(SigningAlg::Rs256).await;
}

#[tokio::test]
async fn es256_client_completes_the_code_flow() {
    full_flow(SigningAlg::Es256).await;
}

fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid profile")
        .append_pair("state", "st4te");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

const CHALLENGE: &str = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn redeem(
    app: &TestApp,
    client: &Registered,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let response = if client.secret.is_some() {
        app.post_basic("/token", client, &form).await
    } else {
        form.push(("client_id", &client.client_id));
        http()
            .post(app.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
    };
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn single_sign_on_skips_login_and_remembered_consent() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    let first = browser
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await;
    first.code();
    // No login and no consent this time: the journey may not fill any form.
    let second = browser
        .journey(&authorize_url(&app, &client.client_id, &[]), None, "")
        .await;
    second.code();
    // prompt=none works with the session; prompt=login forces the form again.
    let silent = browser
        .journey(
            &authorize_url(&app, &client.client_id, &[("prompt", "none")]),
            None,
            "",
        )
        .await;
    silent.code();
    match browser
        .journey(
            &authorize_url(&app, &client.client_id, &[("prompt", "login")]),
            None,
            "",
        )
        .await
    {
        Outcome::Page(200, html) => assert!(html.contains("name=\"password\"")),
        other => panic!("expected the login page, got {other:?}"),
    }
    // The consent was given to App only: another client asks for its own.
    let other = app.add_client(spec("Other")).await;
    match browser
        .journey(
            &authorize_url(&app, &other.client_id, &[("prompt", "none")]),
            None,
            "",
        )
        .await
    {
        outcome @ Outcome::Redirected(_) => {
            assert_eq!(outcome.param("error").as_deref(), Some("consent_required"))
        }
        other => panic!("expected consent_required, got {other:?}"),
    }
}

#[tokio::test]
async fn prompt_none_without_session_returns_login_required() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let outcome = Browser::new(&app)
        .journey(
            &authorize_url(&app, &client.client_id, &[("prompt", "none")]),
            None,
            "",
        )
        .await;
    assert_eq!(outcome.param("error").as_deref(), Some("login_required"));
    assert_eq!(outcome.param("state").as_deref(), Some("st4te"));
    assert_eq!(outcome.param("iss").as_deref(), Some(app.base.as_str()));
}

#[tokio::test]
async fn public_client_must_use_pkce_s256() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_public_client().await;
    let browser = Browser::new(&app);
    let without = browser
        .journey(&authorize_url(&app, &client.client_id, &[]), None, "")
        .await;
    assert_eq!(without.param("error").as_deref(), Some("invalid_request"));
    let plain = browser
        .journey(
            &authorize_url(
                &app,
                &client.client_id,
                &[
                    ("code_challenge", VERIFIER),
                    ("code_challenge_method", "plain"),
                ],
            ),
            None,
            "",
        )
        .await;
    assert_eq!(plain.param("error").as_deref(), Some("invalid_request"));

    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let ok = browser
        .journey(
            &authorize_url(&app, &client.client_id, &pkce),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await;
    let (status, body) = redeem(&app, &client, &ok.code(), Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn wrong_or_missing_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let outcome = browser
        .journey(
            &authorize_url(&app, &client.client_id, &pkce),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await;
    let wrong = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let (status, body) = redeem(&app, &client, &outcome.code(), Some(wrong)).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let outcome = browser
        .journey(&authorize_url(&app, &client.client_id, &pkce), None, "")
        .await;
    let (status, body) = redeem(&app, &client, &outcome.code(), None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

/// A server with alice, a confidential client "App", and an unredeemed code from alice's
/// first journey (login and consent through the forms).
async fn alice_with_a_code() -> (TestApp, Registered, String) {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let outcome = Browser::new(&app)
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await;
    let code = outcome.code();
    (app, client, code)
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_what_it_issued() {
    let (app, client, code) = alice_with_a_code().await;
    let (status, first) = redeem(&app, &client, &code, None).await;
    assert_eq!(status, StatusCode::OK);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo_status(access).await, StatusCode::OK);

    let (status, body) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(app.userinfo_status(access).await, StatusCode::UNAUTHORIZED);
    let refresh_token = first["refresh_token"].as_str().unwrap();
    let (status, _) = refresh(&app, &client, refresh_token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_have_exactly_one_winner() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (app, client, code) = alice_with_a_code().await;
    let attempts = (0..8).map(|_| redeem(&app, &client, &code, None));
    let results = futures::future::join_all(attempts).await;
    let statuses: Vec<StatusCode> = results.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST));
    // Each losing racer removed the family it had prepared: one grant, one family.
    let families = entity::token_families::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(families, 1);
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let (app, client, code) = alice_with_a_code().await;
    app.clock.advance(61);
    let (status, body) = redeem(&app, &client, &code, None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
}

#[tokio::test]
async fn unregistered_redirect_uri_or_client_is_never_redirected_to() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let url = authorize_url(&app, &client.client_id, &[])
        .replace("127.0.0.1%3A1%2Fcallback", "evil.example%2Fcb");
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("did not register"));

    let url = authorize_url(&app, "no-such-client", &[]);
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn bad_client_secret_is_401_invalid_client() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let outcome = Browser::new(&app)
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await;
    let wrong = Registered {
        client_id: client.client_id.clone(),
        secret: Some("wrong".into()),
    };
    let response = app
        .post_basic(
            "/token",
            &wrong,
            &[
                ("grant_type", "authorization_code"),
                ("code", &outcome.code()),
                ("redirect_uri", REDIRECT_URI),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json_error(&body), "invalid_client");
    // The code survives a failed client authentication.
    let (status, _) = redeem(&app, &client, &outcome.code(), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_shows_one_generic_message() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    for (user, password) in [("alice", "wrong password"), ("nobody", "wrong password")] {
        match Browser::new(&app)
            .journey(
                &authorize_url(&app, &client.client_id, &[]),
                Some((user, password)),
                "allow",
            )
            .await
        {
            Outcome::Page(401, html) => {
                assert!(html.contains("The username or password is incorrect."))
            }
            other => panic!("expected a 401 login page, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn login_without_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    let Outcome::Page(200, html) = browser
        .journey(&authorize_url(&app, &client.client_id, &[]), None, "")
        .await
    else {
        panic!("expected the login page");
    };
    let request_id = hidden_input(&html, "request_id").unwrap();
    let response = browser
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", "forged"),
            ("request_id", &request_id),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn denied_consent_returns_access_denied() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let outcome = Browser::new(&app)
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "deny",
        )
        .await;
    assert_eq!(outcome.param("error").as_deref(), Some("access_denied"));
    assert_eq!(outcome.param("state").as_deref(), Some("st4te"));
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let response = Browser::new(&app)
        .client
        .get(authorize_url(&app, &client.client_id, &[]))
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let page = http().get(app.url(&location)).send().await.unwrap();
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(page.headers().get(header).is_some(), "{header} missing");
    }
}

#[tokio::test]
async fn unknown_or_unallowed_scopes_are_dropped_from_the_grant() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let url = authorize_url(&app, &client.client_id, &[])
        .replace("scope=openid+profile", "scope=openid+profile+phone+admin");
    let outcome = Browser::new(&app)
        .journey(&url, Some(("alice", PASSWORD)), "allow")
        .await;
    let (status, body) = redeem(&app, &client, &outcome.code(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["scope"], "openid profile");
    let url =
        authorize_url(&app, &client.client_id, &[]).replace("scope=openid+profile", "scope=admin");
    let outcome = Browser::new(&app).journey(&url, None, "").await;
    assert_eq!(outcome.param("error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn max_age_zero_forces_a_new_login() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    browser
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "allow",
        )
        .await
        .code();
    match browser
        .journey(
            &authorize_url(&app, &client.client_id, &[("max_age", "0")]),
            None,
            "",
        )
        .await
    {
        Outcome::Page(200, html) => assert!(html.contains("name=\"password\"")),
        other => panic!("expected the login page, got {other:?}"),
    }
    let outcome = browser
        .journey(
            &authorize_url(&app, &client.client_id, &[("max_age", "0")]),
            Some(("alice", PASSWORD)),
            "",
        )
        .await;
    outcome.code();
}

/// OIDC Core §3.1.2.6: request objects are refused with their own error codes, at the
/// client's redirect URI.
#[tokio::test]
async fn request_objects_are_refused_with_their_own_error_codes() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    for (param, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let outcome = Browser::new(&app)
            .journey(
                &authorize_url(&app, &client.client_id, &[(param, "eyJhbGciOi.x.y")]),
                None,
                "",
            )
            .await;
        assert_eq!(outcome.param("error").as_deref(), Some(error), "{param}");
        assert_eq!(outcome.param("state").as_deref(), Some("st4te"));
    }
}

/// The consent page links the app's registered home page, privacy policy and terms.
#[tokio::test]
async fn consent_page_links_the_apps_registered_pages() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let mut metadata = spec("Linked app");
    metadata.client_uri = Some("https://app.example/".into());
    metadata.policy_uri = Some("https://app.example/privacy".into());
    let client = app.add_client(metadata).await;
    let outcome = Browser::new(&app)
        .journey(
            &authorize_url(&app, &client.client_id, &[]),
            Some(("alice", PASSWORD)),
            "",
        )
        .await;
    let Outcome::Page(200, html) = outcome else {
        panic!("expected the consent page, got {outcome:?}");
    };
    assert!(
        html.contains(r#"href="https://app.example/" rel="noopener noreferrer""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://app.example/privacy""#),
        "{html}"
    );
    assert!(
        !html.contains("Terms of service"),
        "only what is registered"
    );
}
