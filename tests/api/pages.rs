#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The pages as a person meets them: the hashed stylesheet and its caching, branding,
//! languages (ui_locales, Accept-Language; the account page and its messages too), the
//! consent page's scopes, and error pages that say what happened and offer a way back.
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE};
use reqwest::StatusCode;

use crate::helpers::*;

/// A browser whose `Accept-Language` is `languages` (none if empty).
fn browser_speaking(app: &TestApp, languages: &str) -> Browser {
    let mut headers = HeaderMap::new();
    if !languages.is_empty() {
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(languages).unwrap());
    }
    Browser {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

fn authorize(app: &TestApp, client: &Registered, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = app.authorize_url(&client.client_id, scope);
    url.query_pairs_mut().append_pair("state", "s1");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The page a journey stopped on (200).
fn page(outcome: Outcome) -> String {
    match outcome {
        Outcome::Page(200, html) => html,
        other => panic!("expected a page, got {other:?}"),
    }
}

fn select_all(html: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

fn attr(html: &str, css: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr(name))
        .map(str::to_string)
}

/// The login page of a fresh request (the browser follows /authorize to it).
async fn login_page(app: &TestApp, browser: &Browser, url: &str) -> (HeaderMap, String) {
    let response = browser.client.get(url).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/login?"), "{location}");
    let response = browser.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_stylesheet_has_a_content_hash_and_is_cached_for_a_year() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    let (headers, html) =
        login_page(&app, &browser, &authorize(&app, &client, "openid", &[])).await;
    let href = attr(&html, "link[rel=stylesheet]", "href").unwrap();
    assert!(
        href.starts_with("/assets/tessera-") && href.ends_with(".css") && href.len() > 30,
        "{href}"
    );
    let css = http().get(app.url(&href)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(css
        .text()
        .await
        .unwrap()
        .contains("prefers-color-scheme: dark"));
    // Another hash is another file: no stale name serves today's content.
    let stale = http()
        .get(app.url("/assets/tessera-0000000000000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    // No inline styles or scripts, so the strict CSP holds; the page itself is not cached.
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        !html.contains("style=") && !html.contains("<script"),
        "{html}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("en"));
}

#[tokio::test]
async fn every_input_is_labelled_and_says_what_it_holds() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let (_, html) = login_page(
        &app,
        &Browser::new(&app),
        &authorize(&app, &client, "openid", &[]),
    )
    .await;
    for (id, autocomplete) in [("username", "username"), ("password", "current-password")] {
        assert_eq!(
            attr(&html, &format!("#{id}"), "autocomplete").as_deref(),
            Some(autocomplete)
        );
        assert_eq!(
            select_all(&html, &format!("label[for={id}]")).len(),
            1,
            "{id} has one label"
        );
    }
    assert_eq!(select_all(&html, "main h1"), vec!["Sign in"]);
    assert!(html.contains("to continue to App"), "{html}");
}

#[tokio::test]
async fn forgot_your_password_shows_only_when_configured() {
    let plain = spawn_app().await;
    let client = plain.add_client(spec("App")).await;
    let (_, html) = login_page(
        &plain,
        &Browser::new(&plain),
        &authorize(&plain, &client, "openid", &[]),
    )
    .await;
    assert!(!html.contains("Forgot your password?"), "{html}");

    let app = spawn_app_with(|s| {
        s.password_reset_url = Some("https://help.example/reset".parse().unwrap());
    })
    .await;
    let client = app.add_client(spec("App")).await;
    let (_, html) = login_page(
        &app,
        &Browser::new(&app),
        &authorize(&app, &client, "openid", &[]),
    )
    .await;
    assert_eq!(
        attr(&html, "a[href='https://help.example/reset']", "href").as_deref(),
        Some("https://help.example/reset")
    );
    assert!(html.contains("Forgot your password?"));
}

#[tokio::test]
async fn the_brand_names_every_page_and_its_files_are_served_at_hashed_urls() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#;
    std::fs::write(&logo, svg).unwrap();
    let extra = dir.path().join("brand.css");
    std::fs::write(&extra, "main { border-top: 4px solid #ffeb3b; }").unwrap();
    let app = spawn_app_with(|s| {
        s.brand_name = "Example Corp".into();
        s.brand_logo = Some(logo.clone());
        s.brand_color = Some("#ffeb3b".into());
        s.brand_css = Some(extra.clone());
    })
    .await;
    let client = app.add_client(spec("App")).await;
    let (_, html) = login_page(
        &app,
        &Browser::new(&app),
        &authorize(&app, &client, "openid", &[]),
    )
    .await;
    assert_eq!(select_all(&html, "title"), vec!["Sign in · Example Corp"]);
    assert_eq!(select_all(&html, ".brand-name"), vec!["Example Corp"]);

    let logo_url = attr(&html, "img.brand-logo", "src").unwrap();
    assert!(
        logo_url.starts_with("/assets/logo-") && logo_url.ends_with(".svg"),
        "{logo_url}"
    );
    let served = http().get(app.url(&logo_url)).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(served.text().await.unwrap(), svg);

    let sheets: Vec<String> = {
        let doc = scraper::Html::parse_document(&html);
        let selector = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
        doc.select(&selector)
            .map(|e| e.value().attr("href").unwrap().to_string())
            .collect()
    };
    assert_eq!(sheets.len(), 2, "{sheets:?}");
    let own = http().get(app.url(&sheets[0])).send().await.unwrap();
    let own = own.text().await.unwrap();
    // A light yellow fills the buttons; their text is black, the links a darker yellow.
    assert!(
        own.contains("--accent:#ffeb3b;--on-accent:#000000"),
        "{own}"
    );
    let brand = http().get(app.url(&sheets[1])).send().await.unwrap();
    assert!(sheets[1].starts_with("/assets/brand-"));
    assert!(brand.text().await.unwrap().contains("border-top"));
}

#[tokio::test]
async fn brand_settings_that_cannot_work_are_refused_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), 1).await;
    settings.brand_color = Some("blue".into());
    let clock = std::sync::Arc::new(tessera::clock::SystemClock);
    let refused = tessera::server::build_state(settings.clone(), clock.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("TESSERA_BRAND_COLOR"), "{refused}");

    settings.brand_color = None;
    let gif = dir.path().join("logo.gif");
    std::fs::write(&gif, b"GIF89a").unwrap();
    settings.brand_logo = Some(gif);
    let refused = tessera::server::build_state(settings.clone(), clock.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("TESSERA_BRAND_LOGO"), "{refused}");

    settings.brand_logo = None;
    settings.brand_css = Some(dir.path().join("missing.css"));
    let refused = tessera::server::build_state(settings, clock)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("TESSERA_BRAND_CSS"), "{refused}");
}

#[tokio::test]
async fn ui_locales_then_accept_language_then_english() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;

    // ui_locales, kept with the request: the login page and the consent page after it.
    let browser = browser_speaking(&app, "en");
    let url = authorize(&app, &client, "openid", &[("ui_locales", "fr-CA de-DE en")]);
    let (_, html) = login_page(&app, &browser, &url).await;
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(select_all(&html, "main h1"), vec!["Anmelden"]);
    assert_eq!(select_all(&html, "label[for=password]"), vec!["Passwort"]);
    let consent = page(browser.journey(&url, Some(("alice", PASSWORD)), "").await);
    assert_eq!(attr(&consent, "html", "lang").as_deref(), Some("de"));
    assert!(consent.contains("Wissen, wer Sie sind"), "{consent}");
    assert!(consent.contains("Erlauben") && consent.contains("Ablehnen"));

    // Accept-Language with q-values.
    let browser = browser_speaking(&app, "fr;q=0.9, de;q=0.8, en;q=0.5");
    let (_, html) = login_page(&app, &browser, &authorize(&app, &client, "openid", &[])).await;
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));

    // Neither names a language we have: English.
    let browser = browser_speaking(&app, "fr, ja;q=0.5");
    let url = authorize(&app, &client, "openid", &[("ui_locales", "fr")]);
    let (_, html) = login_page(&app, &browser, &url).await;
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("en"));
    assert_eq!(select_all(&html, "main h1"), vec!["Sign in"]);

    // Error pages too: a sign-in no longer in progress, in German.
    let gone = browser_speaking(&app, "de")
        .client
        .get(app.url("/login?request_id=gone"))
        .send()
        .await
        .unwrap();
    let html = gone.text().await.unwrap();
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert!(html.contains("Diese Anmeldung läuft nicht mehr"), "{html}");
}

#[tokio::test]
async fn discovery_advertises_the_languages_of_the_pages() {
    let app = spawn_app().await;
    let doc: serde_json::Value = get_json(app.url("/.well-known/openid-configuration")).await;
    assert_eq!(doc["ui_locales_supported"], serde_json::json!(["en", "de"]));
}

#[tokio::test]
async fn consent_lists_openid_first_says_what_offline_access_does_and_what_is_new() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let mut metadata = spec("Notes");
    metadata.logo_uri = Some("https://cdn.notes.example/logo.png".into());
    let client = app.add_client(metadata).await;
    let browser = Browser::new(&app);

    let url = authorize(&app, &client, "offline_access email openid", &[]);
    let response = browser.client.get(&url).send().await.unwrap();
    let login = response.headers()["location"].to_str().unwrap().to_string();
    let login = browser.client.get(app.url(&login)).send().await.unwrap();
    // The app's registered logo, allowed by the page's CSP for its origin only.
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("img-src 'self' https://cdn.notes.example;"),
        "{csp}"
    );
    let html = login.text().await.unwrap();
    assert_eq!(
        attr(&html, "img.app-logo", "src").as_deref(),
        Some("https://cdn.notes.example/logo.png")
    );

    let consent = page(browser.journey(&url, Some(("alice", PASSWORD)), "").await);
    let listed: Vec<String> = {
        let doc = scraper::Html::parse_document(&consent);
        let selector = scraper::Selector::parse("ul.scopes li").unwrap();
        doc.select(&selector)
            .map(|e| e.value().attr("data-scope").unwrap().to_string())
            .collect()
    };
    assert_eq!(listed, vec!["openid", "email", "offline_access"]);
    assert!(
        consent.contains("when you are not using it, even after you sign out"),
        "{consent}"
    );
    assert!(select_all(&consent, "ul.granted li").is_empty());
    let decided = browser.journey(&url, None, "allow").await;
    assert!(decided.param("code").is_some(), "{decided:?}");

    // Asking for more later: what was allowed is shown apart from what is new.
    let more = authorize(
        &app,
        &client,
        "openid email profile",
        &[("prompt", "consent")],
    );
    let consent = page(browser.journey(&more, None, "").await);
    assert!(consent.contains("Notes now also asks to:"), "{consent}");
    assert_eq!(
        select_all(&consent, "ul.scopes:not(.granted) li strong"),
        vec!["See your name and username"]
    );
    assert_eq!(
        select_all(&consent, "ul.granted li strong"),
        vec!["Know who you are", "See your email address"]
    );
}

#[tokio::test]
async fn an_app_without_a_logo_shows_none_and_keeps_the_strict_csp() {
    let app = spawn_app().await;
    let client = app.add_client(spec("App")).await;
    let (headers, html) = login_page(
        &app,
        &Browser::new(&app),
        &authorize(&app, &client, "openid", &[]),
    )
    .await;
    assert!(attr(&html, "img.app-logo", "src").is_none());
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("img-src 'self';"));
}

/// A consent sent twice is not an expiry: the page says the sign-in is no longer in
/// progress and what to do.
#[tokio::test]
async fn a_consent_submitted_twice_says_what_happened_without_expired() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let client = app.add_client(spec("App")).await;
    let browser = Browser::new(&app);
    let url = authorize(&app, &client, "openid", &[]);
    let consent = page(browser.journey(&url, Some(("alice", PASSWORD)), "").await);
    let form = [
        ("csrf_token", hidden_input(&consent, "csrf_token").unwrap()),
        ("request_id", hidden_input(&consent, "request_id").unwrap()),
        ("decision", "allow".to_string()),
    ];
    let first = browser
        .client
        .post(app.url("/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let second = browser
        .client
        .post(app.url("/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    let html = second.text().await.unwrap();
    assert_eq!(
        select_all(&html, "main h1"),
        vec!["This sign-in is no longer in progress"]
    );
    assert!(!html.to_lowercase().contains("expired"), "{html}");
    assert!(html.contains("Go back to the application and sign in again."));
}

/// A refused redirect URI is never followed, but the app's registered home page is a way
/// back; the check's own words are shown apart, for the app's developers.
#[tokio::test]
async fn an_error_page_offers_a_way_back_and_no_internal_message() {
    let app = spawn_app().await;
    let mut metadata = spec("App");
    metadata.client_uri = Some("https://app.example/".into());
    let client = app.add_client(metadata).await;
    let mut url = app.authorize_url(&client.client_id, "openid");
    url.query_pairs_mut().clear();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", "https://evil.example/cb")
        .append_pair("scope", "openid");
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(
        attr(&html, "a.button", "href").as_deref(),
        Some("https://app.example/")
    );
    assert_eq!(select_all(&html, "a.button"), vec!["Back to the app"]);
    assert_eq!(select_all(&html, "[role=alert]").len(), 1);

    // A malformed request: the parser's words as the developers' detail.
    let response = http()
        .get(app.url("/authorize?client_id=a&client_id=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("The request is malformed."), "{html}");
    assert_eq!(select_all(&html, ".detail code").len(), 1, "{html}");
}

/// Pages made outside any handler (here the body guard's 413) are in the browser's language
/// and carry the brand too.
#[tokio::test]
async fn the_guards_pages_are_translated_and_branded() {
    let app = spawn_app_with(|s| s.brand_name = "Example Corp".into()).await;
    let response = http()
        .post(app.url("/login"))
        .header(ACCEPT_LANGUAGE, "de-DE,de;q=0.9")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = response.text().await.unwrap();
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        select_all(&html, "main h1"),
        vec!["Die Anfrage ist zu groß"]
    );
    assert_eq!(select_all(&html, ".brand-name"), vec!["Example Corp"]);
}

#[tokio::test]
async fn the_account_page_and_its_messages_follow_the_browsers_language() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    let browser = browser_speaking(&app, "de-DE,de;q=0.9,en;q=0.5");

    // The sign-in the account page sends to says where it leads, in German.
    let (_, login) = login_page(&app, &browser, &app.url("/account")).await;
    assert_eq!(attr(&login, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        select_all(&login, "p.lead"),
        ["um zu Ihrem Konto zu gelangen"]
    );
    let html = page(
        browser
            .journey(&app.url("/account"), Some(("alice", PASSWORD)), "")
            .await,
    );
    assert_eq!(attr(&html, "html", "lang").as_deref(), Some("de"));
    assert_eq!(select_all(&html, "h1"), ["Ihr Konto"]);
    assert!(select_all(&html, "h2").contains(&"Passwort ändern".to_string()));
    // Password managers: the current password, then the new one twice.
    let doc = scraper::Html::parse_document(&html);
    let inputs = scraper::Selector::parse("form[action=\"/account/password\"] input").unwrap();
    let autocomplete: Vec<_> = doc
        .select(&inputs)
        .filter_map(|i| i.value().attr("autocomplete"))
        .collect();
    assert_eq!(
        autocomplete,
        [
            "username",
            "current-password",
            "new-password",
            "new-password"
        ]
    );

    // A refusal comes back in the page's language, announced.
    let csrf = hidden_input(&html, "csrf_token").unwrap();
    let response = browser
        .client
        .post(app.url("/account/password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("current_password", "not the password"),
            ("new_password", "a brand new passphrase"),
            ("new_password_again", "a brand new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = page(browser.journey(&app.url("/account"), None, "").await);
    assert_eq!(
        select_all(&html, "[role=alert]"),
        ["Das aktuelle Passwort ist falsch."]
    );
}
