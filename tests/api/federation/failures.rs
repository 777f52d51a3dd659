//! Failures that must end on a clear page or an OAuth error, never a session: upstream
//! `access_denied`, bad or replayed `state`, `nonce` mismatch, unreachable or unknown upstream.
use super::*;

#[tokio::test]
async fn denying_at_the_upstream_sends_access_denied_to_the_app() {
    let s = setup(|_| {}).await;
    let (browser, request, button) = bob_at_the_upstream_button(&s).await;
    let outcome = browser
        .journey_across(&button, &s.origins(), s.login_at("bob"), "deny")
        .await;
    let Outcome::Redirected(url) = &outcome else {
        panic!("expected a redirect to the app, got {outcome:?}");
    };
    assert!(url.as_str().starts_with(REDIRECT_URI), "{url}");
    assert_eq!(outcome.param("error").as_deref(), Some("access_denied"));
    assert_eq!(
        outcome.param("state").as_deref(),
        Some(request.state.secret().as_str())
    );
    assert_eq!(outcome.param("iss").as_deref(), Some(s.down.base.as_str()));
    assert!(!logged_in(&s, &browser).await);
}

#[tokio::test]
async fn a_bad_missing_or_replayed_state_is_refused() {
    let s = setup(|_| {}).await;
    let (browser, _, button) = bob_at_the_upstream_button(&s).await;

    // Stop when the upstream sends the browser back to our callback.
    let outcome = browser
        .journey_across(&button, &[&s.up_issuer], s.login_at("bob"), "allow")
        .await;
    let Outcome::Redirected(callback) = outcome else {
        panic!("expected the upstream's redirect, got {outcome:?}");
    };
    assert!(callback.as_str().starts_with(&s.down.url(CALLBACK_PATH)));

    for bad in [
        s.down
            .url(&format!("{CALLBACK_PATH}?code=abc&state=forged")),
        s.down.url(&format!("{CALLBACK_PATH}?code=abc")),
        s.down.url(CALLBACK_PATH),
    ] {
        let response = browser.client.get(&bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("This sign-in answer cannot be used"),
            "{html}"
        );
    }

    // The genuine answer does not work in another browser (the state belongs to a session)...
    let other = Browser::new(&s.down);
    let response = other.client.get(callback.as_str()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // ...works once in this one...
    let first = browser.client.get(callback.as_str()).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(first.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/consent?request_id="));
    // ...and only once.
    let replay = browser.client.get(callback.as_str()).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_nonce_mismatch_is_refused() {
    let s = setup(|_| {}).await;
    let (browser, _, button) = bob_at_the_upstream_button(&s).await;

    // An attacker swaps the nonce on the way to the upstream: the ID token carries theirs.
    let response = browser.client.get(&button).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut upstream_url =
        url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: Vec<(String, String)> = upstream_url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-nonce".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    upstream_url.query_pairs_mut().clear().extend_pairs(pairs);

    let outcome = browser
        .journey_across(
            upstream_url.as_str(),
            &s.origins(),
            s.login_at("bob"),
            "allow",
        )
        .await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 400);
    assert!(html.contains("could not be verified"), "{html}");
    assert_eq!(user_count(&s.down).await, 0);
    assert!(!logged_in(&s, &browser).await);
}

#[tokio::test]
async fn an_unreachable_upstream_shows_a_clear_page() {
    let s = setup(|_| {}).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    add_upstream(
        &s.down,
        generic("corp", &format!("http://127.0.0.1:{closed}"), &s.up_client),
    )
    .await;

    let browser = Browser::new(&s.down);
    let request = app_request(&s).await;
    let (_, button) = upstream_button(&s, &browser, &request).await;
    let response = browser.client.get(&button).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let html = response.text().await.unwrap();
    assert!(html.contains("We could not reach corp"), "{html}");
    assert!(html.contains("/login?request_id="), "a way back: {html}");
    assert!(!logged_in(&s, &browser).await);
}

#[tokio::test]
async fn unknown_upstream_and_expired_request_are_clear_pages() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let browser = Browser::new(&s.down);
    let request = app_request(&s).await;
    let (_, button) = upstream_button(&s, &browser, &request).await;

    let unknown = button.replace("/login/upstream/corp", "/login/upstream/nope");
    let response = browser.client.get(&unknown).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("This way of signing in is not available"));

    let stale = s.down.url("/login/upstream/corp?request_id=gone");
    let response = browser.client.get(&stale).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
