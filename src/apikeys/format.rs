//! The API key format: `tsk_` + 32 base62 random characters + a 6-character base62 CRC32 of
//! everything before it, e.g. `tsk_4f9QpZ...Xb01aQ`.
//!
//! Why so: the fixed prefix lets secret scanners (GitHub's, gitleaks) find leaked keys; the
//! checksum lets them, and this server, reject a mistyped or made-up value offline without a
//! database look-up; base62 keeps the key one "word" that a double click selects. 32 base62
//! characters carry 190 bits of entropy, so the keyed hash stored needs no salt or slow hash.
use ring::rand::{SecureRandom, SystemRandom};

pub const PREFIX: &str = "tsk_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// The length of every key.
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How many characters of a key are shown in lists (`tsk_` and 8 of the random part).
pub const SHOWN_LEN: usize = PREFIX.len() + 8;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new random key.
pub fn generate() -> String {
    let rng = SystemRandom::new();
    let mut random = String::with_capacity(RANDOM_LEN);
    while random.len() < RANDOM_LEN {
        let mut buf = [0u8; 64];
        // SystemRandom only fails if the OS has no entropy source, which we cannot run without.
        if rng.fill(&mut buf).is_err() {
            panic!("the operating system's random number generator failed");
        }
        // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if random.len() == RANDOM_LEN {
                break;
            }
            random.push(ALPHABET[usize::from(*b % 62)] as char);
        }
    }
    let body = format!("{PREFIX}{random}");
    let checksum = checksum(&body);
    format!("{body}{checksum}")
}

/// Whether `value` is shaped like one of our keys with a correct checksum (no database, no
/// key: what a secret scanner can check too).
pub fn is_well_formed(value: &str) -> bool {
    if value.len() != KEY_LEN || !value.starts_with(PREFIX) {
        return false;
    }
    if !value[PREFIX.len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let (body, sum) = value.split_at(KEY_LEN - CHECKSUM_LEN);
    crate::secrets::constant_time_eq(&checksum(body), sum)
}

/// The part of `key` shown in lists.
pub fn shown_part(key: &str) -> &str {
    key.get(..SHOWN_LEN).unwrap_or(key)
}

fn checksum(body: &str) -> String {
    let mut n = u64::from(crc32(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|b| *b as char).collect()
}

/// CRC-32 (IEEE 802.3, as zlib and GitHub's token checksums use).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn generated_keys_are_well_formed_and_a_typo_is_caught() {
        let key = generate();
        assert_eq!(key.len(), KEY_LEN);
        assert!(key.starts_with("tsk_"));
        assert!(is_well_formed(&key));
        assert_ne!(generate(), key);
        for i in PREFIX.len()..KEY_LEN {
            let mut typo = key.clone().into_bytes();
            typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(typo).unwrap();
            assert!(!is_well_formed(&typo), "{typo}");
        }
        assert!(!is_well_formed(&key[..KEY_LEN - 1]));
        assert!(!is_well_formed(&format!("{key}0")));
        assert!(!is_well_formed(&key.replacen("tsk_", "tsx_", 1)));
        assert!(!is_well_formed("tsk_"));
        assert_eq!(shown_part(&key).len(), 12);
    }
}
