//! Criterion benches for the pure functions on Tessera's hot paths (issue 5, item 5):
//! minting and verifying JWTs per algorithm, PKCE verification, the client-secret check,
//! and one argon2 password hash (the unit of the login limit); and, for comparison, the same
//! ES256 and RS256 signatures through ring. `cargo bench --bench hot_paths`.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{Map, Value};
use tessera::config::SigningAlg;
use tessera::jose::jwt;
use tessera::jose::keys::Keys;
use tessera::oauth::params::CodeVerifier;
use tessera::secrets::{client_secret_hash, constant_time_eq, random_token, Secret};

/// The claims of an RFC 9068 access token as `oauth::tokens::access_token` builds them, with
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
            |b| b.iter(|| jwt::sign(&keys, alg, "at+jwt", access_claims())),
        );
        let claims = access_claims();
        c.bench_function(&format!("jwt::sign {name}"), |b| {
            b.iter(|| jwt::sign(&keys, alg, "at+jwt", black_box(claims.clone())))
        });
        let token = jwt::sign(&keys, alg, "at+jwt", claims).unwrap_or_else(|e| panic!("sign: {e}"));
        c.bench_function(&format!("jwt::verify {name}"), |b| {
            b.iter(|| jwt::verify(&keys, black_box(&token), "at+jwt").map(|claims| claims.len()))
        });
    }
}

/// The same signatures through ring (already a dependency) on the same keys and signing
/// input: what the josekit/OpenSSL path costs on top of the arithmetic.
fn ring_comparison(c: &mut Criterion) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    };
    let (dir, keys) = keys();
    let der = |file: &str| -> Vec<u8> {
        let pem = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap_or_default()
    };
    let token = jwt::sign(&keys, SigningAlg::Es256, "at+jwt", access_claims())
        .unwrap_or_else(|e| panic!("sign: {e}"));
    let input = token
        .rsplit_once('.')
        .map(|(i, _)| i.to_string())
        .unwrap_or_default();
    let rng = SystemRandom::new();
    match EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &der("es256-private.pem"),
        &rng,
    ) {
        Ok(pair) => {
            c.bench_function("ring ES256 sign (same key and input)", |b| {
                b.iter(|| {
                    pair.sign(&rng, black_box(input.as_bytes()))
                        .map(|s| s.as_ref().len())
                })
            });
        }
        Err(e) => eprintln!("ring ES256 comparison skipped: {e}"),
    };
    match RsaKeyPair::from_pkcs8(&der("rs256-private.pem")) {
        Ok(pair) => {
            c.bench_function("ring RS256 sign (same key and input)", |b| {
                let mut signature = vec![0; pair.public().modulus_len()];
                b.iter(|| {
                    pair.sign(
                        &RSA_PKCS1_SHA256,
                        &rng,
                        black_box(input.as_bytes()),
                        &mut signature,
                    )
                })
            });
        }
        Err(e) => eprintln!("ring RS256 comparison skipped: {e}"),
    };
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
    let stored = client_secret_hash(&keys.client_secret_pepper, &secret);
    c.bench_function(
        "client secret: client_secret_hash + constant_time_eq",
        |b| {
            b.iter(|| {
                let computed = client_secret_hash(&keys.client_secret_pepper, black_box(&secret));
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

criterion_group!(
    benches,
    jwt_benches,
    ring_comparison,
    pkce_bench,
    client_secret_bench,
    password_bench
);
criterion_main!(benches);
