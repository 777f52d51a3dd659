//! What a username and a new password must be: pure rules shared by the CLI and the account
//! page. Usernames are stored as typed (trimmed) and matched by
//! `storage::users::username_key`, so `Alice` and `alice` are one account.
use crate::secrets::Secret;

/// Longest username, in characters.
pub const MAX_USERNAME: usize = 128;
/// Shortest password, in characters; longest, in bytes (argon2 input stays bounded).
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The username to store for `typed`: surrounding whitespace trimmed; 1-128 characters
/// without inner whitespace or control characters. The error says why, for a person.
pub fn parse_username(typed: &str) -> Result<String, &'static str> {
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > MAX_USERNAME {
        return Err("the username must be 1-128 characters");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the username may not contain spaces or control characters");
    }
    Ok(name.to_string())
}

/// Why a new password is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeakPassword {
    TooShort,
    TooLong,
}

/// The CLI's sentence (the account page says it from its catalogs).
impl std::fmt::Display for WeakPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WeakPassword::TooShort => "The password must be at least 8 characters.",
            WeakPassword::TooLong => "The password must be at most 1024 bytes.",
        })
    }
}

/// Checks a new password: at least 8 characters, at most 1024 bytes.
pub fn check_new_password(password: &Secret) -> Result<(), WeakPassword> {
    let password = password.expose();
    if password.chars().count() < MIN_PASSWORD {
        return Err(WeakPassword::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(WeakPassword::TooLong);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_kept_as_typed() {
        assert_eq!(parse_username("  Alice ").unwrap(), "Alice");
        assert!(parse_username("   ").is_err());
        assert!(parse_username("al ice").is_err());
        assert!(parse_username("a\u{7}b").is_err());
        assert!(parse_username(&"x".repeat(129)).is_err());
        assert_eq!(
            parse_username(&"é".repeat(128)).unwrap().chars().count(),
            128
        );
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(check_new_password(&Secret("short".into())).is_err());
        assert!(check_new_password(&Secret("long enough".into())).is_ok());
        assert!(check_new_password(&Secret("x".repeat(1025))).is_err());
    }
}
