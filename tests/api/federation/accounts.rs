//! Which local user an upstream login becomes: provisioning, linking by verified email,
//! and the link-only and refuse policies.
use super::*;

#[tokio::test]
async fn provisioned_usernames_do_not_take_over_local_ones() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let local_bob = add_user_with_email(&s.down, "bob", "someone-else@example.com", true).await;
    s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_ne!(claims["sub"], local_bob.id.as_str());
    assert_eq!(claims["preferred_username"], "bob-2");
}

async fn links_by_verified_email(policy: FederationPolicy) {
    let s = setup(|c| c.federation_policy = policy).await;
    s.add_generic().await;
    let local = add_user_with_email(&s.down, "robert", "bob@example.com", true).await;
    let up_bob = s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["sub"], local.id.as_str(), "linked to the local user");
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(user_count(&s.down).await, 1, "nobody provisioned");
    assert_eq!(
        upstreams::find_identity(&s.down.state.db, &s.up_issuer, &up_bob.id)
            .await
            .unwrap()
            .as_deref(),
        Some(local.id.as_str())
    );
}

#[tokio::test]
async fn provision_policy_links_an_existing_user_by_verified_email() {
    links_by_verified_email(FederationPolicy::Provision).await;
}

#[tokio::test]
async fn link_only_policy_links_an_existing_user_by_verified_email() {
    links_by_verified_email(FederationPolicy::LinkOnly).await;
}

#[tokio::test]
async fn an_unverified_upstream_email_never_links() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let local = add_user_with_email(&s.down, "carol-local", "carol@example.com", true).await;
    add_user_with_email(&s.up, "carol", "carol@example.com", false).await;

    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "carol").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_ne!(claims["sub"], local.id.as_str(), "not linked");
    let provisioned = users::find_by_username(&s.down.state.db, "carol")
        .await
        .unwrap()
        .expect("a new user");
    assert_eq!(claims["sub"], provisioned.id.as_str());
    assert!(!provisioned.email_verified, "the email stays unverified");
}

#[tokio::test]
async fn link_only_policy_refuses_an_unknown_identity() {
    let s = setup(|c| c.federation_policy = FederationPolicy::LinkOnly).await;
    s.add_generic().await;
    s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let (_, outcome) = federated_login(&s, &browser, "bob").await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 403);
    assert!(html.contains("not linked to an account here"), "{html}");
    assert!(html.contains("Back to sign-in"));
    assert_eq!(user_count(&s.down).await, 0);
    assert!(!logged_in(&s, &browser).await, "no session");
}

#[tokio::test]
async fn refuse_policy_admits_only_linked_identities() {
    let s = setup(|c| c.federation_policy = FederationPolicy::Refuse).await;
    s.add_generic().await;
    s.up.add_user("bob").await;
    let up_alice = s.up.add_user("alice").await;
    // alice's upstream identity was linked to a local account beforehand.
    let local_alice = s.down.add_user("alice-local").await;
    upstreams::link_identity(
        &s.down.state.db,
        &s.up_issuer,
        &up_alice.id,
        &local_alice.id,
        0,
    )
    .await
    .unwrap();

    let browser = Browser::new(&s.down);
    let (_, outcome) = federated_login(&s, &browser, "bob").await;
    assert_eq!(page(&outcome).0, 403);
    assert!(!logged_in(&s, &browser).await);

    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "alice").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["sub"], local_alice.id.as_str());
    assert_eq!(user_count(&s.down).await, 1);
}

#[tokio::test]
async fn a_disabled_local_user_is_refused() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let up_bob = s.up.add_user("bob").await;
    let local = s.down.add_user("bob-local").await;
    upstreams::link_identity(&s.down.state.db, &s.up_issuer, &up_bob.id, &local.id, 0)
        .await
        .unwrap();
    users::set_disabled(&s.down.state.db, "bob-local", true, 0)
        .await
        .unwrap();

    let browser = Browser::new(&s.down);
    let (_, outcome) = federated_login(&s, &browser, "bob").await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 403);
    assert!(html.contains("disabled"), "{html}");
    assert!(!logged_in(&s, &browser).await);
}

#[tokio::test]
async fn linking_by_an_email_two_local_users_verified_is_refused_with_a_clear_page() {
    let s = setup(|c| c.federation_policy = FederationPolicy::LinkOnly).await;
    s.add_generic().await;
    // As a database from before verified emails were unique may hold (the CLI now refuses).
    add_user_with_email(&s.down, "robert", "bob@example.com", true).await;
    add_user_with_email(&s.down, "bobby", "BOB@example.com", true).await;
    s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let (_, outcome) = federated_login(&s, &browser, "bob").await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 403);
    assert!(
        html.contains("Several accounts here have this email address"),
        "{html}"
    );
    assert!(!logged_in(&s, &browser).await);
    assert_eq!(
        user_count(&s.down).await,
        2,
        "nobody provisioned, nothing linked"
    );
}

#[tokio::test]
async fn a_provisioned_user_cannot_unlink_the_only_way_they_sign_in() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let up_bob = s.up.add_user("bob").await;

    // The account page's sign-in offers the upstream too, and comes back to the page.
    let browser = Browser::new(&s.down);
    let Outcome::Page(200, login) = browser.journey(&s.down.url("/account"), None, "").await else {
        panic!("expected the login page");
    };
    let doc = scraper::Html::parse_document(&login);
    let selector = scraper::Selector::parse(r#"a.button[href^="/login/upstream/"]"#).unwrap();
    let button = doc
        .select(&selector)
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("an upstream button")
        .to_string();
    let outcome = browser
        .journey_across(
            &s.down.url(&button),
            &s.origins(),
            s.login_at("bob"),
            "allow",
        )
        .await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 200);
    assert!(
        html.contains("Your account"),
        "back on the account page: {html}"
    );
    assert!(
        html.contains("<strong>corp</strong>"),
        "the provider by name: {html}"
    );
    assert!(!html.contains("current_password"), "no password to change");
    let csrf = hidden_input(html, "csrf_token").unwrap();
    let response = browser
        .client
        .post(s.down.url("/account/identities/unlink"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("issuer", s.up_issuer.as_str()),
            ("subject", up_bob.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let html = browser
        .client
        .get(s.down.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("only way you can sign in"), "{html}");
    assert!(
        upstreams::find_identity(&s.down.state.db, &s.up_issuer, &up_bob.id)
            .await
            .unwrap()
            .is_some()
    );
}
