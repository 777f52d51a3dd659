//! The Google preset (issuer overridden to a local Tessera) and password-less login pages.
use super::*;

fn google(s: &Setup, hosted_domain: Option<&str>) -> UpstreamSpec {
    UpstreamSpec {
        name: "google".into(),
        preset: Some(Preset::Google),
        issuer: Some(s.up_issuer.clone()),
        client_id: s.up_client.client_id.clone(),
        client_secret: s.up_client.secret.clone().unwrap(),
        scopes: vec![],
        hosted_domain: hosted_domain.map(str::to_string),
    }
}

#[tokio::test]
async fn google_preset_with_a_hosted_domain_refuses_accounts_without_hd() {
    let s = setup(|_| {}).await;
    add_upstream(&s.down, google(&s, Some("example.com"))).await;
    s.up.add_user("bob").await;

    let browser = Browser::new(&s.down);
    let request = app_request(&s).await;
    let (login_page, button) = upstream_button(&s, &browser, &request).await;
    assert!(login_page.contains("Sign in with Google"), "{login_page}");
    let response = browser.client.get(&button).send().await.unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("hd").as_deref(), Some("example.com"));
    assert_eq!(param("prompt").as_deref(), Some("select_account"));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        param("scope").as_deref(),
        Some("openid email profile"),
        "the preset's scopes"
    );

    // The local upstream is not Google Workspace: its ID token has no `hd`.
    let outcome = browser
        .journey_across(location.as_str(), &s.origins(), s.login_at("bob"), "allow")
        .await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 403);
    assert!(html.contains("Only example.com accounts"), "{html}");
    assert_eq!(user_count(&s.down).await, 0);
    assert!(!logged_in(&s, &browser).await);
}

#[tokio::test]
async fn google_preset_uses_the_email_only_when_verified() {
    let s = setup(|_| {}).await;
    add_upstream(&s.down, google(&s, None)).await;
    let robert = add_user_with_email(&s.down, "robert", "bob@example.com", true).await;
    let gina_local = add_user_with_email(&s.down, "gina-local", "gina@example.com", true).await;
    s.up.add_user("bob").await;
    add_user_with_email(&s.up, "gina", "gina@example.com", false).await;

    // Verified at the upstream: linked to the local account with that email.
    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["sub"], robert.id.as_str());
    assert_eq!(claims["idp"], s.up_issuer.as_str());

    // Unverified: not linked, and the unverified address is not even kept.
    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "gina").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_ne!(claims["sub"], gina_local.id.as_str());
    let gina = users::find(&s.down.state.db, claims["sub"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gina.username, "gina");
    assert_eq!(gina.email, None);
    assert!(claims.get("email").is_none());
}

#[tokio::test]
async fn without_password_login_the_page_shows_only_the_buttons() {
    let s = setup(|c| c.password_login = false).await;
    s.add_generic().await;
    s.up.add_user("bob").await;
    let browser = Browser::new(&s.down);
    let request = app_request(&s).await;
    let (html, _) = upstream_button(&s, &browser, &request).await;
    assert!(html.contains("Sign in with corp"), "{html}");
    assert!(!html.contains(r#"name="password""#), "{html}");

    // And the button still works.
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let claims = app_tokens(&s, request, &outcome).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
}

/// The query of the authorization request we send upstream, for an app request with `extra`
/// appended.
async fn upstream_query(s: &Setup, extra: &str) -> Vec<(String, String)> {
    let browser = Browser::new(&s.down);
    let mut request = app_request(s).await;
    request.url.push_str(extra);
    let (_, button) = upstream_button(s, &browser, &request).await;
    let response = browser.client.get(&button).send().await.unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    location.query_pairs().into_owned().collect()
}

fn value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn prompt_login_and_max_age_are_passed_upstream() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    let plain = upstream_query(&s, "").await;
    assert_eq!(
        (value(&plain, "prompt"), value(&plain, "max_age")),
        (None, None)
    );
    let recent = upstream_query(&s, "&max_age=600").await;
    assert_eq!(value(&recent, "max_age"), Some("600"));
    let again = upstream_query(&s, "&prompt=login").await;
    assert_eq!(value(&again, "prompt"), Some("login"));

    // Google takes no prompt=login: the preset asks for a fresh login with max_age=0.
    let s = setup(|_| {}).await;
    add_upstream(&s.down, google(&s, None)).await;
    let again = upstream_query(&s, "&prompt=login").await;
    assert_eq!(
        (value(&again, "prompt"), value(&again, "max_age")),
        (Some("select_account"), Some("0"))
    );
    let recent = upstream_query(&s, "&max_age=600").await;
    assert_eq!(value(&recent, "max_age"), Some("600"));
}
