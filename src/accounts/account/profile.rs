//! Editing one's profile: the display name (the `name` claim). Username and email are shown
//! but not edited here: the username is how people and apps know the account, and a new
//! email needs verifying, which Tessera does not do yet.

/// Longest display name, in characters.
pub const MAX_NAME: usize = 200;

/// The name to store for `typed`: trimmed; empty clears it; at most 200 characters, no
/// control characters. The error is a catalog key.
pub fn parse_name(typed: &str) -> Result<Option<String>, &'static str> {
    let name = typed.trim();
    if name.chars().any(char::is_control) {
        return Err("account-name-control");
    }
    if name.chars().count() > MAX_NAME {
        return Err("account-name-too-long");
    }
    Ok((!name.is_empty()).then(|| name.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            parse_name("  Alice Example ").unwrap().as_deref(),
            Some("Alice Example")
        );
        assert_eq!(parse_name("   ").unwrap(), None);
        assert!(parse_name("a\nb").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
    }
}
