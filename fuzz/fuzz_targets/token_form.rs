//! The token request's form body (also introspection's and revocation's): the strict
//! parameter parser and the PKCE verifier check. Nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera::oauth::params::{is_clean, CodeVerifier, Params};

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    for name in [
        "grant_type",
        "client_id",
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "scope",
        "resource",
        "client_assertion",
    ] {
        if let Some(value) = params.get(name) {
            assert!(is_clean(value) && !value.is_empty(), "{name}: {value:?}");
        }
    }
    if let Some(verifier) = params.get("code_verifier") {
        if let Ok(verifier) = CodeVerifier::parse(verifier) {
            let _ = verifier.matches("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        }
    }
});
