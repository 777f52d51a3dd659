//! A `private_key_jwt` client assertion (RFC 7523): its unverified subject and its
//! verification against a JWK set. The input is `jwks \n assertion`; with no newline, the
//! assertion is checked against a fixed ES256 key. Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera::jose::client_keys::{parse_client_jwks, unverified_subject, verify_assertion};

const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (jwks, assertion) = match text.split_once('\n') {
        Some((jwks, assertion)) => {
            let _ = parse_client_jwks(jwks);
            (jwks, assertion)
        }
        None => (JWKS, text),
    };
    let _ = unverified_subject(assertion);
    let _ = verify_assertion(jwks, assertion);
});
