//! Criterion benches for the pure functions on Tessera's hot paths (issue 5, item 5):
//! minting and verifying JWTs per algorithm, PKCE verification, the client-secret check,
//! the refresh-token MAC, and one argon2 password hash (the unit of the login limit); and,
//! for comparison, the same signatures through josekit's OpenSSL backend, which
//! `jose::ring_jws` replaces. `cargo bench --bench hot_paths`.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{Map, Value};
use tessera::jose::jwt;
use tessera::jose::keys::Keys;
use tessera::oauth::params::CodeVerifier;
use tessera::secrets::{client_secret_hash, constant_time_eq, random_token, Secret};
use tessera::types::SigningAlg;

/// The claims of an RFC 9068 access token as `oauth::token_minting::access_token` builds them, with
/// a fresh `jti` each time, as in the server.
fn access_claims() -> Map<String, Value> {
    let now = 1_700_000_000_i64;
    let mut claims = Map::new();
    claims.insert("iss".into(), "http://127.0.0.1:18080".into());
    claims.insert("sub".into(), "bench-client".into());
    claims.insert("aud".into(), "http://127.0.0.1:18080".into());
    claims.insert("exp".into(), (now + 600).into());
    claims.insert("iat".into(), now.into());
    claims.insert("jti".into(), random_token(16).into());
    claims.insert("client_id".into(), "bench-client".into());
    claims.insert("scope".into(), "api:read api:write".into());
    claims
}

fn keys() -> (tempfile::TempDir, Keys) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let keys = Keys::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("keys: {e}"));
    (dir, keys)
}

fn jwt_benches(c: &mut Criterion) {
    let (_dir, keys) = keys();
    for alg in [SigningAlg::Es256, SigningAlg::Rs256] {
        let name = alg.as_str();
        c.bench_function(
            &format!("mint access token {name} (claims + jti + sign)"),
            |b| b.iter(|| jwt::sign(&keys, alg, "at+jwt", &access_claims())),
        );
        let claims = access_claims();
        c.bench_function(&format!("jwt::sign {name}"), |b| {
            b.iter(|| jwt::sign(&keys, alg, "at+jwt", black_box(&claims)))
        });
        let token =
            jwt::sign(&keys, alg, "at+jwt", &claims).unwrap_or_else(|e| panic!("sign: {e}"));
        c.bench_function(&format!("jwt::verify {name}"), |b| {
            b.iter(|| jwt::verify(&keys, black_box(&token), "at+jwt").map(|claims| claims.len()))
        });
    }
}

/// The same signatures through josekit's own OpenSSL-backed signers and verifiers, on the
/// same keys and signing input: what `jose::ring_jws` saves (why it exists).
fn openssl_comparison(c: &mut Criterion) {
    use josekit::jws::{JwsSigner, JwsVerifier, ES256, RS256};
    let (dir, keys) = keys();
    let pem = |file: &str| std::fs::read(dir.path().join(file)).unwrap_or_default();
    let token = jwt::sign(&keys, SigningAlg::Es256, "at+jwt", &access_claims())
        .unwrap_or_else(|e| panic!("sign: {e}"));
    let input = token
        .rsplit_once('.')
        .map(|(i, _)| i.to_string())
        .unwrap_or_default();
    let es256 = ES256.signer_from_pem(pem("es256-private.pem"));
    let rs256 = RS256.signer_from_pem(pem("rs256-private.pem"));
    let (Ok(es256), Ok(rs256)) = (es256, rs256) else {
        eprintln!("OpenSSL comparison skipped: the keys did not load");
        return;
    };
    let es256_verifier = ES256
        .key_pair_from_pem(pem("es256-private.pem"))
        .and_then(|pair| ES256.verifier_from_jwk(&pair.to_jwk_public_key()));
    let signers: [(&str, &dyn JwsSigner); 2] = [("ES256", &es256), ("RS256", &rs256)];
    for (name, signer) in signers {
        c.bench_function(
            &format!("josekit/OpenSSL {name} sign (same key and input)"),
            |b| b.iter(|| signer.sign(black_box(input.as_bytes())).map(|s| s.len())),
        );
    }
    if let (Ok(verifier), Ok(signature)) = (es256_verifier, es256.sign(input.as_bytes())) {
        c.bench_function("josekit/OpenSSL ES256 verify (same key and input)", |b| {
            b.iter(|| verifier.verify(black_box(input.as_bytes()), black_box(&signature)))
        });
    }
}

fn refresh_token_bench(c: &mut Criterion) {
    use tessera::oauth::refresh_token_format;
    let (_dir, keys) = keys();
    let family = random_token(16);
    c.bench_function("refresh token: encode", |b| {
        b.iter(|| refresh_token_format::encode(&keys, black_box(&family), black_box(42)))
    });
    let token = refresh_token_format::encode(&keys, &family, 42);
    c.bench_function("refresh token: decode (MAC check)", |b| {
        b.iter(|| refresh_token_format::decode(&keys, black_box(&token)))
    });
}

fn pkce_bench(c: &mut Criterion) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let verifier = random_token(32);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    c.bench_function("PKCE S256: CodeVerifier::parse + matches", |b| {
        b.iter(|| {
            let parsed = CodeVerifier::parse(black_box(&verifier)).map_err(|e| e.description)?;
            Ok::<bool, String>(parsed.matches(black_box(&challenge)))
        })
    });
}

fn client_secret_bench(c: &mut Criterion) {
    let (_dir, keys) = keys();
    let secret = random_token(32);
    let stored = client_secret_hash(&keys.client_secret_key, &secret);
    c.bench_function(
        "client secret: client_secret_hash + constant_time_eq",
        |b| {
            b.iter(|| {
                let computed = client_secret_hash(&keys.client_secret_key, black_box(&secret));
                constant_time_eq(&computed, black_box(&stored))
            })
        },
    );
}

fn password_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    let password = Secret("correct horse battery staple".into());
    group.bench_function("argon2id hash (configured parameters)", |b| {
        b.iter(|| tessera::accounts::password::hash_blocking(black_box(&password)))
    });
    group.finish();
}

/// What the request-metrics middleware adds to every public request once its route is
/// known: one table load, a counter add, a histogram push.
fn request_metrics_bench(c: &mut Criterion) {
    let metrics = tessera::telemetry::Metrics::new();
    let took = std::time::Duration::from_micros(250);
    metrics.http.record("/token", 200, took);
    // The exporter keeps histogram samples until upkeep (the server runs it every 5 s): run
    // it here too, or millions of iterations would hold gigabytes of samples.
    let mut recorded = 0u32;
    c.bench_function(
        "request metrics: record (route and status seen before)",
        |b| {
            b.iter(|| {
                metrics
                    .http
                    .record(black_box("/token"), black_box(200), took);
                recorded = recorded.wrapping_add(1);
                if recorded.is_multiple_of(65_536) {
                    metrics.upkeep();
                }
            })
        },
    );
}

/// The whole request-metrics middleware, A/B: the same trivial route through a router
/// without and with `telemetry::http::track` (the difference is what every request pays).
fn request_middleware_bench(c: &mut Criterion) {
    use axum::routing::get;
    use tower::ServiceExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let metrics = std::sync::Arc::new(tessera::telemetry::Metrics::new());
    let bare = axum::Router::new().route("/token", get(|| async { "ok" }));
    let tracked = bare
        .clone()
        .layer(tessera::telemetry::http::TrackLayer::new(metrics.clone()));
    let request = || {
        axum::http::Request::get("/token")
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("request: {e}"))
    };
    let mut sent = 0u32;
    for (name, router) in [("without", bare), ("with", tracked)] {
        c.bench_function(&format!("router oneshot, {name} request metrics"), |b| {
            b.iter(|| {
                let response = runtime.block_on(router.clone().oneshot(request()));
                sent = sent.wrapping_add(1);
                if sent.is_multiple_of(65_536) {
                    metrics.upkeep();
                }
                response.map(|r| r.status())
            })
        });
    }
}

criterion_group!(
    benches,
    request_metrics_bench,
    request_middleware_bench,
    jwt_benches,
    openssl_comparison,
    refresh_token_bench,
    pkce_bench,
    client_secret_bench,
    password_bench
);
criterion_main!(benches);
