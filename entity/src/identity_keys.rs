//! The keys under which usernames and verified emails are unique. Stored next to the form a
//! person typed (shown as entered), so `Alice`, `alice`, `ALICE`, ` alice ` and the
//! full-width `ａｌｉｃｅ` are one account. Here rather than in `tessera` because the migration
//! that fills the keys of existing rows must compute exactly the same ones.
use unicode_normalization::UnicodeNormalization;

/// A username's unique key: surrounding whitespace trimmed, NFKC, Unicode default case
/// folding (full folding: `ß` and `ss` match), NFKC again (folding can denormalize).
pub fn username_key(username: &str) -> String {
    let nfkc: String = username.trim().nfkc().collect();
    caseless::default_case_fold_str(&nfkc).nfkc().collect()
}

/// An email address's key: trimmed, NFKC, and case-folded as a whole. RFC 5321 lets the
/// local part be case-sensitive, but no provider in use treats `Alice@` and `alice@` as two
/// people, and two accounts that differ only so are a mistake, never an intent.
pub fn email_key(email: &str) -> String {
    username_key(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_width_and_spaces_do_not_make_another_name() {
        let key = username_key("alice");
        for same in [
            "Alice",
            "ALICE",
            " alice ",
            "alice\t",
            "ａｌｉｃｅ",
            "ＡＬＩＣＥ",
        ] {
            assert_eq!(username_key(same), key, "{same:?}");
        }
        assert_ne!(username_key("alice2"), key);
        assert_ne!(username_key("al ice"), key);
    }

    #[test]
    fn folding_is_full_unicode_folding() {
        assert_eq!(username_key("Straße"), username_key("STRASSE"));
        assert_eq!(username_key("ΣΊΣΥΦΟΣ"), username_key("σίσυφος"));
        // U+212A KELVIN SIGN is a compatibility form of K.
        assert_eq!(username_key("\u{212A}im"), username_key("kim"));
        // Composed and decomposed é.
        assert_eq!(username_key("Ren\u{e9}"), username_key("rene\u{301}"));
    }

    #[test]
    fn emails_compare_without_case() {
        assert_eq!(
            email_key(" Alice@Example.COM"),
            email_key("alice@example.com")
        );
    }
}
