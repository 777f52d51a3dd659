//! Upstream signing keys: an ID token signed by a key the upstream does not publish is
//! refused, and rotated keys are re-discovered once.
use super::*;

/// Serves a discovery document for an upstream whose issuer is this server's URL: the real
/// upstream's document with its endpoints on `real` and `jwks_uri` set to whatever `jwks`
/// holds at the time of the request. Counts the requests.
async fn spawn_discovery_front(
    listener: tokio::net::TcpListener,
    real_document: String,
    real: String,
    jwks: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
) {
    let handler = move || {
        let (real_document, real, jwks, hits) = (
            real_document.clone(),
            real.clone(),
            jwks.clone(),
            hits.clone(),
        );
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let mut doc: serde_json::Value = get_json(&real_document).await;
            for (key, path) in [
                ("authorization_endpoint", "/authorize"),
                ("token_endpoint", "/token"),
                ("userinfo_endpoint", "/userinfo"),
            ] {
                doc[key] = format!("{real}{path}").into();
            }
            doc["jwks_uri"] = jwks.lock().unwrap().clone().into();
            axum::Json(doc)
        }
    };
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(handler),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// An upstream whose discovery document first points at another provider's keys, as during
/// a botched or in-progress key rotation.
struct Rotating {
    s: Setup,
    real_jwks: String,
    jwks: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
    /// Serves the keys the upstream does not sign with.
    _stranger: TestApp,
}

async fn rotating_upstream() -> Rotating {
    let down = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let front_issuer = front.clone();
    let up = spawn_upstream(move |c| c.issuer = front_issuer.parse().unwrap()).await;
    let up_port = url::Url::parse(&up.base).unwrap().port().unwrap();
    let real = format!("http://localhost:{up_port}");
    let stranger = spawn_app().await;
    let jwks = Arc::new(Mutex::new(stranger.url("/jwks")));
    let hits = Arc::new(AtomicUsize::new(0));
    spawn_discovery_front(
        listener,
        up.url("/.well-known/openid-configuration"),
        real.clone(),
        jwks.clone(),
        hits.clone(),
    )
    .await;
    let up_client = up.add_client(upstream_client_spec(&down)).await;
    let app = down.add_client(spec("Photo app")).await;
    add_upstream(&down, generic("corp", &front, &up_client)).await;
    up.add_user("bob").await;
    Rotating {
        s: Setup {
            down,
            up,
            // The browser visits the upstream's pages on `real`.
            up_issuer: real.clone(),
            up_client,
            app,
        },
        real_jwks: format!("{real}/jwks"),
        jwks,
        hits,
        _stranger: stranger,
    }
}

#[tokio::test]
async fn an_id_token_signed_by_an_unknown_key_is_refused_after_rediscovery() {
    let r = rotating_upstream().await;
    let browser = Browser::new(&r.s.down);
    let (_, outcome) = federated_login(&r.s, &browser, "bob").await;
    let (status, html) = page(&outcome);
    assert_eq!(status, 400);
    assert!(html.contains("could not be verified"), "{html}");
    assert_eq!(
        r.hits.load(Ordering::SeqCst),
        2,
        "the keys were re-read once"
    );
    assert!(!logged_in(&r.s, &browser).await);
}

#[tokio::test]
async fn rotated_upstream_keys_are_rediscovered() {
    let r = rotating_upstream().await;
    let browser = Browser::new(&r.s.down);
    let request = app_request(&r.s).await;
    let (_, button) = upstream_button(&r.s, &browser, &request).await;
    let response = browser.client.get(&button).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.hits.load(Ordering::SeqCst), 1, "discovered and cached");
    // The upstream now publishes the key it signs with.
    *r.jwks.lock().unwrap() = r.real_jwks.clone();

    let location = response.headers()["location"].to_str().unwrap().to_string();
    let outcome = browser
        .journey_across(&location, &r.s.origins(), r.s.login_at("bob"), "allow")
        .await;
    let claims = app_tokens(&r.s, request, &outcome).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(
        r.hits.load(Ordering::SeqCst),
        2,
        "re-read once on the new kid"
    );
}
