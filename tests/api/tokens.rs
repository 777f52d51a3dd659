#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Refresh tokens: rotation, reuse detection, the one-winner race, grace period, scope
//! narrowing, lifetimes.
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn code_flow_tokens(app: &TestApp, client: &Registered, scope: &str) -> Value {
    let url = app.authorize_url(&client.client_id, scope);
    let outcome = Browser::new(app)
        .journey(url.as_str(), Some(("alice", PASSWORD)), "allow")
        .await;
    let response = app.redeem_code(client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub(crate) async fn introspect(app: &TestApp, caller: &Registered, token: &str) -> Value {
    let response = app
        .post_basic("/introspect", caller, &[("token", token)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let first = code_flow_tokens(&app, &client, "openid offline_access").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_string();

    let (status, second) = refresh(&app, &client, &r1, None).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert!(
        second.get("id_token").is_none(),
        "OIDC Core 12.2: no ID token on refresh"
    );
    let (status, third) = refresh(&app, &client, &r2, None).await;
    assert_eq!(status, StatusCode::OK);
    let r3 = third["refresh_token"].as_str().unwrap().to_string();
    let newest_access = third["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        introspect(&app, &client, &newest_access).await["active"],
        json!(true)
    );

    // Replay of r1: invalid_grant, and the newest tokens die with the family.
    let (status, body) = refresh(&app, &client, &r1, None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, _) = refresh(&app, &client, &r3, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        introspect(&app, &client, &newest_access).await,
        json!({"active": false})
    );
    assert_eq!(
        app.userinfo_status(&newest_access).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let tokens = code_flow_tokens(&app, &client, "openid offline_access").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_string();
    let attempts = (0..16).map(|_| {
        let (base, id, secret, token) = (
            app.base.clone(),
            client.client_id.clone(),
            client.secret.clone(),
            token.clone(),
        );
        tokio::spawn(async move {
            http()
                .post(format!("{base}/token"))
                .basic_auth(id, secret)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(winners, 1, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST));
}

/// Refreshes of several families at once (on SQLite they are written as one statement):
/// each chain gets its own family's next token, round after round, and a replay in one
/// chain revokes that family only.
#[tokio::test]
async fn concurrent_refreshes_of_many_families_each_rotate_their_own() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let mut chains = Vec::new();
    for _ in 0..6 {
        let tokens = code_flow_tokens(&app, &client, "openid offline_access").await;
        chains.push(vec![tokens["refresh_token"].as_str().unwrap().to_string()]);
    }
    for round in 0..4 {
        let answers = futures::future::join_all(
            chains
                .iter()
                .map(|chain| refresh(&app, &client, chain.last().unwrap(), None)),
        )
        .await;
        for (chain, (status, body)) in chains.iter_mut().zip(answers) {
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
            chain.push(body["refresh_token"].as_str().unwrap().to_string());
        }
    }
    let (status, _) = refresh(&app, &client, &chains[0][2], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a replay");
    let answers = futures::future::join_all(
        chains
            .iter()
            .map(|chain| refresh(&app, &client, chain.last().unwrap(), None)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(status, _)| *status).collect();
    let mut expected = vec![StatusCode::OK; chains.len()];
    expected[0] = StatusCode::BAD_REQUEST;
    assert_eq!(statuses, expected, "only the replayed family is revoked");
}

#[tokio::test]
async fn grace_period_lets_the_same_client_reuse_a_just_rotated_token() {
    let app = spawn_app_with(|s| s.refresh_grace_seconds = 5).await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let tokens = code_flow_tokens(&app, &client, "openid").await;
    let r1 = tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, first) = refresh(&app, &client, &r1, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = refresh(&app, &client, &r1, None).await;
    assert_eq!(status, StatusCode::OK, "within the grace period: {again}");
    assert_eq!(
        again["refresh_token"], first["refresh_token"],
        "the late tab gets the live token, so neither tab's next refresh is a replay"
    );
    app.clock.advance(6);
    let (status, _) = refresh(&app, &client, &r1, None).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "after the grace period the family is revoked"
    );
    let (status, _) = refresh(
        &app,
        &client,
        again["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refresh_may_narrow_scope_but_not_widen_and_is_bound_to_its_client() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let other = app.add_client(spec("Other")).await;
    let tokens = code_flow_tokens(&app, &client, "openid profile").await;
    let r1 = tokens["refresh_token"].as_str().unwrap().to_string();
    let (status, body) = refresh(&app, &client, &r1, Some("openid profile email")).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let (status, body) = refresh(&app, &other, &r1, None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (status, narrowed) = refresh(&app, &client, &r1, Some("openid")).await;
    assert_eq!(status, StatusCode::OK, "{narrowed}");
    assert_eq!(narrowed["scope"], "openid");
}

#[tokio::test]
async fn disabled_user_loses_refresh_and_userinfo() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let tokens = code_flow_tokens(&app, &client, "openid").await;
    tessera::storage::users::set_disabled(&app.state.db, "alice", true, 0)
        .await
        .unwrap();
    let (status, _) = refresh(
        &app,
        &client,
        tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.userinfo_status(tokens["access_token"].as_str().unwrap())
            .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle_and_without_offline_access_with_the_session() {
    let app = spawn_app_with(|s| {
        s.refresh_idle_seconds = 1000;
        s.session_seconds = 3000;
    })
    .await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let online = code_flow_tokens(&app, &client, "openid").await;
    let offline = code_flow_tokens(&app, &client, "openid offline_access").await;
    let idle = code_flow_tokens(&app, &client, "openid offline_access").await;

    let mut online_token = online["refresh_token"].as_str().unwrap().to_string();
    let mut offline_token = offline["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..4 {
        app.clock.advance(900);
        let (status, body) = refresh(&app, &client, &offline_token, None).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "offline_access outlives the session: {body}"
        );
        offline_token = body["refresh_token"].as_str().unwrap().to_string();
        let (status, body) = refresh(&app, &client, &online_token, None).await;
        if status == StatusCode::OK {
            online_token = body["refresh_token"].as_str().unwrap().to_string();
        }
    }
    // 3600 s later: past the 3000 s session lifetime, so the online family has ended.
    let (status, body) = refresh(&app, &client, &online_token, None).await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // The untouched token has been idle for 3600 s > 1000 s.
    let (status, _) = refresh(&app, &client, idle["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
