//! The authorization request's query: the strict parameter parser, then the typed parsers
//! the authorize checks apply to its values. Nothing may panic; every accepted value is free
//! of control characters and within the size limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera::clients::redirect_uri;
use tessera::oauth::params::{is_clean, CodeChallenge, Params};
use tessera::types::Scopes;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    for name in [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "response_mode",
    ] {
        if let Some(value) = params.get(name) {
            assert!(is_clean(value) && value.len() <= 8192, "{name}: {value:?}");
        }
    }
    if let Some(scope) = params.get("scope") {
        let _ = Scopes::parse(scope);
    }
    if let Some(challenge) = params.get("code_challenge") {
        let _ = CodeChallenge::parse(challenge);
    }
    if let Some(uri) = params.get("redirect_uri") {
        let _ = redirect_uri::check(uri);
    }
    if let Some(max_age) = params.get("max_age") {
        let _ = max_age.parse::<i64>();
    }
});
