//! The refresh-token format `{family}.{generation}.{tag}`: decoding any string never panics,
//! and whatever decodes under the key is what `encode` made with it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ring::hmac;
use tessera::oauth::refresh_token_format::decode_with_key;

fuzz_target!(|data: &[u8]| {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"fuzz refresh-token key");
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(found) = decode_with_key(&key, value) {
        assert!(found.generation > 0, "{value:?}");
        assert!(value.starts_with(&format!("{}.{}.", found.family_id, found.generation)));
    }
    // A well-formed body with a forged tag is refused.
    let forged = format!("{value}.1.AAAA");
    assert!(decode_with_key(&key, &forged).is_none());
});
