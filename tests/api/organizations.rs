#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Organizations kept apart: the organization a token speaks for (request parameter,
//! selection page, client restriction), only that organization's roles in it, access denied
//! to non-members, cross-organization introspection inactive, membership re-checked at
//! refresh.
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::clock::Clock;
use tessera::storage::organizations::{self, Organization};
use tessera::storage::roles::{self, Holder, Within};

use crate::helpers::*;
use crate::roles::{add_role, jwt_claims, machine_spec, roles_spec, tessera};
use crate::tokens::introspect;

pub(crate) struct World {
    pub(crate) acme: Organization,
    pub(crate) globex: Organization,
}

/// Organizations acme and globex; alice is a member of both, `admin` in acme and `viewer` in
/// globex, and holds the global role `staff`; bob is a member of globex only.
pub(crate) async fn world(app: &TestApp) -> World {
    let db = &app.state.db;
    let now = app.clock.now();
    let alice = app.add_user("alice").await;
    let bob = app.add_user("bob").await;
    for role in ["admin", "viewer", "staff"] {
        add_role(app, role).await;
    }
    let acme = organizations::add(db, "acme", "Acme Inc.", now)
        .await
        .unwrap()
        .unwrap();
    let globex = organizations::add(db, "globex", "Globex", now)
        .await
        .unwrap()
        .unwrap();
    for (org, user) in [(&acme, &alice), (&globex, &alice), (&globex, &bob)] {
        organizations::add_member(db, &org.id, &user.id, now)
            .await
            .unwrap();
    }
    let grants = [
        ("admin", &alice.id, Within::Organization(&acme.id)),
        ("viewer", &alice.id, Within::Organization(&globex.id)),
        ("staff", &alice.id, Within::Global),
        ("viewer", &bob.id, Within::Organization(&globex.id)),
    ];
    for (role, user, within) in grants {
        roles::grant(db, role, Holder::User(user), within, now)
            .await
            .unwrap();
    }
    World { acme, globex }
}

fn with_org(app: &TestApp, client: &Registered, scope: &str, org: Option<&str>) -> String {
    let mut url = app.authorize_url(&client.client_id, scope);
    if let Some(org) = org {
        url.query_pairs_mut().append_pair("organization", org);
    }
    url.to_string()
}

async fn sign_in(app: &TestApp, url: &str, user: &str) -> Outcome {
    Browser::new(app)
        .journey(url, Some((user, PASSWORD)), "allow")
        .await
}

async fn tokens(app: &TestApp, client: &Registered, outcome: &Outcome) -> Value {
    let response = app.redeem_code(client, &outcome.code()).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn access_claims(tokens: &Value) -> Value {
    jwt_claims(tokens["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn the_organization_parameter_picks_the_organization_and_only_its_roles() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    // By slug; the consent page says which organization the sign-in is for.
    let url = with_org(&app, &client, "openid roles offline_access", Some("acme"));
    let consent = Browser::new(&app)
        .journey(&url, Some(("alice", PASSWORD)), "")
        .await;
    assert!(
        matches!(&consent, Outcome::Page(200, html) if html.contains("This sign-in is for the organization Acme Inc.")),
        "{consent:?}"
    );
    let acme_tokens = tokens(&app, &client, &sign_in(&app, &url, "alice").await).await;
    let at = access_claims(&acme_tokens);
    assert_eq!(at["org_id"], w.acme.id.as_str(), "{at}");
    assert_eq!(at["org_name"], "Acme Inc.");
    assert_eq!(
        at["roles"],
        json!(["admin"]),
        "no global or other roles: {at}"
    );
    let id = jwt_claims(acme_tokens["id_token"].as_str().unwrap());
    assert_eq!(id["org_id"], w.acme.id.as_str());
    assert_eq!(id["roles"], json!(["admin"]));
    // By id: acme's admin is nobody's admin in globex.
    let url = with_org(&app, &client, "openid roles", Some(&w.globex.id));
    let globex_tokens = tokens(&app, &client, &sign_in(&app, &url, "alice").await).await;
    let at = access_claims(&globex_tokens);
    assert_eq!(at["org_id"], w.globex.id.as_str());
    assert_eq!(at["roles"], json!(["viewer"]), "{at}");
    let access = globex_tokens["access_token"].as_str().unwrap();
    let info: Value = http()
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["roles"], json!(["viewer"]), "{info}");
    assert_eq!(info["org_id"], w.globex.id.as_str());
    // Without an organization: the global roles only.
    let url = with_org(&app, &client, "openid roles", None);
    let global = tokens(&app, &client, &sign_in(&app, &url, "alice").await).await;
    let at = access_claims(&global);
    assert_eq!(at["roles"], json!(["staff"]), "{at}");
    assert!(at.get("org_id").is_none());
    // A refresh keeps speaking for the organization, with its roles read again.
    let r = acme_tokens["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &client, r, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = access_claims(&body);
    assert_eq!(
        (at["org_id"].clone(), at["roles"].clone()),
        (json!(w.acme.id), json!(["admin"]))
    );
}

#[tokio::test]
async fn a_non_member_gets_access_denied_at_the_redirect_uri_and_never_a_code() {
    let app = spawn_app().await;
    world(&app).await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    let url = with_org(&app, &client, "openid roles", Some("acme"));
    let outcome = sign_in(&app, &url, "bob").await;
    assert!(matches!(outcome, Outcome::Redirected(_)), "{outcome:?}");
    assert_eq!(outcome.param("error").as_deref(), Some("access_denied"));
    assert!(outcome.param("code").is_none());
    let described = outcome.param("error_description").unwrap();
    assert!(described.contains("not a member"), "{described}");
    // An organization that does not exist reads the same: no way to probe which exist.
    let url = with_org(&app, &client, "openid roles", Some("initech"));
    let unknown = sign_in(&app, &url, "bob").await;
    assert_eq!(unknown.param("error").as_deref(), Some("access_denied"));
    assert_eq!(unknown.param("error_description"), Some(described));
    // Before login nothing is said about the organization.
    let outcome = Browser::new(&app).journey(&url, None, "").await;
    assert!(
        matches!(&outcome, Outcome::Page(200, html) if html.contains("password")),
        "{outcome:?}"
    );
    // A malformed value is refused outright.
    let url = with_org(&app, &client, "openid", Some("a b"));
    let outcome = Browser::new(&app).journey(&url, None, "").await;
    assert_eq!(outcome.param("error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn the_selection_page_lets_a_member_of_several_choose_and_nothing_else() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    let url = with_org(&app, &client, "openid roles organization", None);
    let browser = Browser::new(&app);
    let Outcome::Page(200, html) = browser
        .journey(&url, Some(("alice", PASSWORD)), "allow")
        .await
    else {
        panic!("no selection page")
    };
    assert!(
        html.contains("Acme Inc.") && html.contains("Globex"),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf_token").unwrap();
    let request_id = hidden_input(&html, "request_id").unwrap();
    let choose = |org: String| {
        let (csrf, request_id) = (csrf.clone(), request_id.clone());
        let browser = &browser;
        let app = &app;
        async move {
            browser
                .client
                .post(app.url("/organization"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("request_id", request_id.as_str()),
                    ("organization", org.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Without the CSRF token: refused.
    let forged = browser
        .client
        .post(app.url("/organization"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("organization", w.globex.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let response = choose(w.globex.id.clone()).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let outcome = browser.journey(&app.url(&location), None, "allow").await;
    let at = access_claims(&tokens(&app, &client, &outcome).await);
    assert_eq!(at["org_id"], w.globex.id.as_str(), "{at}");
    assert_eq!(at["roles"], json!(["viewer"]));

    // bob belongs to globex only: no page, globex is his organization.
    let outcome = sign_in(&app, &url, "bob").await;
    let at = access_claims(&tokens(&app, &client, &outcome).await);
    assert_eq!(at["org_id"], w.globex.id.as_str());

    // A choice of an organization the user is no longer in is denied at the redirect URI.
    let browser = Browser::new(&app);
    let db = &app.state.db;
    let carol = app.add_user("carol").await;
    for org in [&w.acme, &w.globex] {
        organizations::add_member(db, &org.id, &carol.id, app.clock.now())
            .await
            .unwrap();
    }
    let Outcome::Page(200, html) = browser
        .journey(&url, Some(("carol", PASSWORD)), "allow")
        .await
    else {
        panic!("no selection page")
    };
    organizations::remove_member(db, &w.acme.id, &carol.id, app.clock.now())
        .await
        .unwrap();
    let response = browser
        .client
        .post(app.url("/organization"))
        .form(&[
            (
                "csrf_token",
                hidden_input(&html, "csrf_token").unwrap().as_str(),
            ),
            (
                "request_id",
                hidden_input(&html, "request_id").unwrap().as_str(),
            ),
            ("organization", w.acme.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let error = location
        .query_pairs()
        .find(|(k, _)| k == "error")
        .unwrap()
        .1;
    assert_eq!(error, "access_denied");

    // prompt=none cannot show the page.
    let mut quiet = url::Url::parse(&url).unwrap();
    quiet.query_pairs_mut().append_pair("prompt", "none");
    let browser = Browser::new(&app);
    browser
        .journey(&url, Some(("alice", PASSWORD)), "allow")
        .await;
    let outcome = browser.journey(quiet.as_str(), None, "").await;
    assert_eq!(
        outcome.param("error").as_deref(),
        Some("interaction_required")
    );
}

// The CLI runs as a blocking child process: the server needs its own worker threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_restricted_to_one_organization_speaks_for_no_other() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let client = app.add_client(roles_spec("Globex portal")).await;
    let restricted = tessera(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            &client.client_id,
            "--organization",
            "globex",
        ],
    )
    .unwrap();
    assert_eq!(restricted["organization_id"], w.globex.id.as_str());
    for org in ["acme", w.acme.id.as_str()] {
        let url = with_org(&app, &client, "openid roles", Some(org));
        let outcome = sign_in(&app, &url, "alice").await;
        assert_eq!(
            outcome.param("error").as_deref(),
            Some("access_denied"),
            "{org}"
        );
        assert!(outcome.param("code").is_none());
    }
    // Asking for nothing in particular: its organization.
    let url = with_org(&app, &client, "openid roles", None);
    let at = access_claims(&tokens(&app, &client, &sign_in(&app, &url, "alice").await).await);
    assert_eq!(at["org_id"], w.globex.id.as_str());
    assert_eq!(at["roles"], json!(["viewer"]));

    // Its machine twin: client-credentials tokens carry globex and the roles held there.
    let mut spec = machine_spec();
    spec.name = "Globex sync".into();
    let machine = app.add_client(spec).await;
    tessera(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            &machine.client_id,
            "--organization",
            &w.globex.id,
        ],
    )
    .unwrap();
    let granted = tessera(
        &app,
        &[
            "client",
            "grant-role",
            "--client-id",
            &machine.client_id,
            "--role",
            "admin",
        ],
    )
    .unwrap();
    assert_eq!(granted["organization_id"], w.globex.id.as_str());
    let body: Value = app
        .post_basic("/token", &machine, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let at = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(at["org_id"], w.globex.id.as_str(), "{at}");
    assert_eq!(at["roles"], json!(["admin"]));

    // An organization with restricted clients cannot be removed from under them.
    let refused = tessera(&app, &["org", "remove", "--org", "globex"]).unwrap_err();
    assert!(refused.contains("client update"), "{refused}");
    // Lifting the restriction: the client speaks globally again.
    tessera(
        &app,
        &[
            "client",
            "update",
            "--client-id",
            &client.client_id,
            "--no-organization",
        ],
    )
    .unwrap();
    let url = with_org(&app, &client, "openid roles", Some("acme"));
    let at = access_claims(&tokens(&app, &client, &sign_in(&app, &url, "alice").await).await);
    assert_eq!(at["org_id"], w.acme.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_across_organizations_is_inactive() {
    let app = spawn_app_with(|s| s.resources = vec!["api-acme".into(), "api-globex".into()]).await;
    let w = world(&app).await;
    let now = app.clock.now();
    let db = &app.state.db;
    // The API clients, one per organization, named by the resource indicators.
    let mut rs = machine_spec();
    rs.client_id = Some("api-acme".into());
    let api_acme = app.add_client(rs.clone()).await;
    rs.client_id = Some("api-globex".into());
    let api_globex = app.add_client(rs).await;
    organizations::restrict_client(db, "api-acme", Some(&w.acme.id), now)
        .await
        .unwrap();
    organizations::restrict_client(db, "api-globex", Some(&w.globex.id), now)
        .await
        .unwrap();

    let client = app.add_client(roles_spec("Dashboard")).await;
    let url = with_org(&app, &client, "openid roles offline_access", Some("acme"));
    let outcome = sign_in(&app, &url, "alice").await;
    let code = outcome.code();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("resource", "api-globex"),
    ];
    let response = app.post_basic("/token", &client, &form).await;
    let acme_for_globex: Value = response.json().await.unwrap();
    let token = acme_for_globex["access_token"].as_str().unwrap();
    // An acme token addressed to globex's API: globex's API sees nothing.
    assert_eq!(
        introspect(&app, &api_globex, token).await,
        json!({"active": false})
    );
    let refresh_token = acme_for_globex["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, &api_globex, refresh_token).await,
        json!({"active": false})
    );

    // The same user's acme token addressed to acme's API: active, with acme's roles.
    let url = with_org(&app, &client, "openid roles offline_access", Some("acme"));
    let outcome = sign_in(&app, &url, "alice").await;
    let code = outcome.code();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("resource", "api-acme"),
    ];
    let response = app.post_basic("/token", &client, &form).await;
    let acme_tokens: Value = response.json().await.unwrap();
    let token = acme_tokens["access_token"].as_str().unwrap();
    let seen = introspect(&app, &api_acme, token).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["org_id"], w.acme.id.as_str());
    assert_eq!(seen["roles"], json!(["admin"]));
    // The unrestricted client the token was issued to sees it too.
    assert_eq!(introspect(&app, &client, token).await["active"], true);

    // alice leaves acme: her acme tokens die at once, and refresh fails with invalid_grant.
    let removed = tessera(
        &app,
        &[
            "org",
            "remove-member",
            "--org",
            "acme",
            "--username",
            "alice",
        ],
    )
    .unwrap();
    assert_eq!(removed["changed"], true);
    assert_eq!(
        introspect(&app, &api_acme, token).await,
        json!({"active": false})
    );
    let (status, body) = refresh(
        &app,
        &client,
        acme_tokens["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    // Her roles there are gone with the membership.
    let alice = tessera::storage::users::find_by_username(db, "alice")
        .await
        .unwrap()
        .unwrap();
    let left = roles::effective_roles(
        db,
        roles::Subject::User(&alice.id),
        Within::Organization(&w.acme.id),
    )
    .await
    .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_checked_again_at_refresh_and_org_removal_ends_its_tokens() {
    let app = spawn_app().await;
    app.add_user("alice").await;
    app.add_user("dave").await;
    let client = app.add_client(roles_spec("Dashboard")).await;
    let added = tessera(
        &app,
        &["org", "add", "--slug", "acme", "--name", "Acme Inc."],
    )
    .unwrap();
    let acme_id = added["id"].as_str().unwrap().to_string();
    assert!(acme_id.starts_with("org_"));
    let dup = tessera(&app, &["org", "add", "--slug", "acme", "--name", "Again"]).unwrap_err();
    assert!(dup.contains("already exists"), "{dup}");
    let bad = tessera(&app, &["org", "add", "--slug", "Not A Slug", "--name", "x"]).unwrap_err();
    assert!(bad.contains("slug"), "{bad}");
    tessera(&app, &["role", "add", "--name", "admin"]).unwrap();
    let outsider = tessera(
        &app,
        &[
            "org",
            "grant-role",
            "--org",
            "acme",
            "--username",
            "dave",
            "--role",
            "admin",
        ],
    )
    .unwrap_err();
    assert!(outsider.contains("org add-member"), "{outsider}");
    tessera(
        &app,
        &["org", "add-member", "--org", "acme", "--username", "alice"],
    )
    .unwrap();
    tessera(
        &app,
        &[
            "org",
            "grant-role",
            "--org",
            "acme",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    let listed = tessera(&app, &["org", "list"]).unwrap();
    assert_eq!(listed[0]["members"], json!(["alice"]));
    let roles_listed = tessera(&app, &["role", "list"]).unwrap();
    assert_eq!(roles_listed[0]["holders"][0]["organization"], "acme");

    let url = with_org(&app, &client, "openid roles offline_access", Some("acme"));
    let first = tokens(&app, &client, &sign_in(&app, &url, "alice").await).await;
    assert_eq!(access_claims(&first)["roles"], json!(["admin"]));
    let (status, second) = refresh(
        &app,
        &client,
        first["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    tessera(
        &app,
        &[
            "org",
            "revoke-role",
            "--org",
            "acme",
            "--username",
            "alice",
            "--role",
            "admin",
        ],
    )
    .unwrap();
    let (status, third) = refresh(
        &app,
        &client,
        second["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(access_claims(&third)["roles"], json!([]));

    // Removing the organization ends every token that speaks for it.
    let removed = tessera(&app, &["org", "remove", "--org", "acme"]).unwrap();
    assert_eq!(removed["removed"], true);
    let access = third["access_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, &client, access).await,
        json!({"active": false})
    );
    assert_eq!(app.userinfo_status(access).await, StatusCode::UNAUTHORIZED);
    let (status, body) = refresh(
        &app,
        &client,
        third["refresh_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(
        (status, json_error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(tessera(&app, &["org", "list"])
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}
