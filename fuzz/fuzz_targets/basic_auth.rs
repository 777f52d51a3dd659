//! The `Authorization: Basic` header of client authentication (RFC 6749 §2.3.1). Nothing may
//! panic; accepted credentials hold no control character.
#![no_main]
use http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tessera::oauth::client_auth::parse_basic;
use tessera::oauth::params::is_clean;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    if let Ok(Some((id, secret))) = parse_basic(&headers) {
        assert!(is_clean(&id) && is_clean(&secret), "{id:?} {secret:?}");
    }
});
