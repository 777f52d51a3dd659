//! Upstream logins in the audit log (the other kinds: `tests/api/audit.rs`).
use super::*;

async fn events(app: &TestApp, kind: &str) -> Vec<tessera::storage::audit::AuditRow> {
    app.state.audit.flush().await;
    let filter = tessera::storage::audit::Filter {
        limit: 1000,
        ..Default::default()
    };
    tessera::storage::audit::list(&app.state.db, &filter)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .collect()
}

#[tokio::test]
async fn an_upstream_login_is_audited_as_federation_login_without_secrets() {
    let s = setup(|_| {}).await;
    s.add_generic().await;
    s.up.add_user("bob").await;
    let browser = Browser::new(&s.down);
    let (request, outcome) = federated_login(&s, &browser, "bob").await;
    let code = outcome.code();
    let claims = app_tokens(&s, request, &outcome).await;

    let rows = events(&s.down, "federation_login").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.user_id.as_deref(), claims["sub"].as_str());
    assert_eq!(row.username.as_deref(), Some("bob"));
    assert_eq!(row.client_id.as_deref(), Some(s.app.client_id.as_str()));
    assert_eq!(row.reason.as_deref(), Some("provisioned"));
    assert_eq!(row.target.as_deref(), Some("upstream:corp"));
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
    let request_id = row.request_id.as_deref().unwrap();
    assert!(crate::logs::lines_with(request_id)
        .iter()
        .any(|l| l.contains("kind=\"federation_login\"")));
    // The upstream, a Tessera too, audited bob's password login there.
    assert_eq!(events(&s.up, "login_success").await.len(), 1);

    let log = crate::logs::lines_with("").join("\n");
    let table = format!("{:?}", events(&s.down, "federation_login").await);
    for secret in [PASSWORD, s.up_client.secret.as_deref().unwrap(), &code] {
        assert!(
            !log.contains(secret) && !table.contains(secret),
            "{secret} leaked"
        );
    }
}

#[tokio::test]
async fn a_refused_upstream_login_is_a_login_failure() {
    let s = setup(|c| c.federation_policy = FederationPolicy::Refuse).await;
    s.add_generic().await;
    s.up.add_user("bob").await;
    let browser = Browser::new(&s.down);
    let (_, outcome) = federated_login(&s, &browser, "bob").await;
    assert!(matches!(outcome, Outcome::Page(..)), "{outcome:?}");
    let rows = events(&s.down, "login_failure").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].reason.as_deref(), Some("federation_refused"));
    assert_eq!(rows[0].target.as_deref(), Some("upstream:corp"));
    assert!(events(&s.down, "federation_login").await.is_empty());
}
