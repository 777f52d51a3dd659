//! The refresh-token format: `{family}.{generation}.{tag}`, where `tag` is the base64url
//! HMAC-SHA256 of `{family}.{generation}` under the server's refresh-token key.
//!
//! Why not a random value stored hashed: the family row's `generation` then says which one
//! token is live, so a rotation is a single conditional update (no token row to insert, no
//! transaction), and any older generation presented again is provably one we issued — a
//! replay, which revokes the family. Forging a token needs the key, which lives with the
//! signing keys (whoever has those can mint access tokens anyway).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::jose::keys::Keys;

/// Longest value worth parsing: a 22-character family id, 19 digits, a 43-character tag.
const MAX_LEN: usize = 96;

/// What a well-formed, authentic refresh token names.
#[derive(Debug, PartialEq, Eq)]
pub struct RefreshTokenRef {
    pub family_id: String,
    pub generation: i64,
}

/// The refresh token of `family_id` at `generation`.
pub fn encode(keys: &Keys, family_id: &str, generation: i64) -> String {
    let body = format!("{family_id}.{generation}");
    let tag = ring::hmac::sign(&keys.refresh_token_key, body.as_bytes());
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The family and generation of `value` if it is a refresh token made by [`encode`] with our
/// key (checked in constant time); `None` for anything else.
pub fn decode(keys: &Keys, value: &str) -> Option<RefreshTokenRef> {
    decode_with_key(&keys.refresh_token_key, value)
}

/// [`decode`] under `key` alone (the fuzz target's entry point).
pub fn decode_with_key(key: &ring::hmac::Key, value: &str) -> Option<RefreshTokenRef> {
    if value.len() > MAX_LEN {
        return None;
    }
    let (body, tag) = value.rsplit_once('.')?;
    let (family_id, generation) = body.split_once('.')?;
    if family_id.is_empty()
        || !generation.bytes().all(|b| b.is_ascii_digit())
        || generation.starts_with('0')
    {
        return None;
    }
    let generation: i64 = generation.parse().ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    ring::hmac::verify(key, body.as_bytes(), &tag).ok()?;
    Some(RefreshTokenRef {
        family_id: family_id.to_string(),
        generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (tempfile::TempDir, Keys) {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = Keys::load_or_generate(dir.path()).expect("keys");
        (dir, keys)
    }

    #[test]
    fn round_trips_and_refuses_anything_altered() {
        let (_dir, keys) = keys();
        let token = encode(&keys, "fam-id_1", 7);
        assert_eq!(
            decode(&keys, &token),
            Some(RefreshTokenRef {
                family_id: "fam-id_1".into(),
                generation: 7
            })
        );
        let (body, tag) = token.rsplit_once('.').expect("three parts");
        for forged in [
            format!("fam-id_1.8.{tag}"),
            format!("fam-id_2.7.{tag}"),
            format!("{body}.{}", &tag[1..]),
            format!("{body}.x{tag}"),
            format!("fam-id_1.07.{tag}"),
            format!("fam-id_1.-7.{tag}"),
            format!(".7.{tag}"),
            body.to_string(),
            String::new(),
            "a.b.c.d".into(),
            "x".repeat(200),
        ] {
            assert_eq!(decode(&keys, &forged), None, "{forged}");
        }
        let (_other_dir, other_keys) = self::keys();
        assert_eq!(decode(&other_keys, &token), None, "another server's key");
    }
}
