//! Changing one's password: the current one is required (a session left open is not enough
//! to take the account), the new one typed twice, hashed with argon2id on the hashing
//! queue, and every other session of the user signed out (someone who knew the old password
//! loses the sessions it gave them).
use crate::accounts::identity::{check_new_password, WeakPassword};
use crate::secrets::{constant_time_eq, Secret};

/// Why a password change is refused, said to the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The account signs in only through an upstream provider.
    NoPassword,
    WrongCurrent,
    Mismatch,
    SameAsCurrent,
    Weak(WeakPassword),
}

impl Refusal {
    /// What the page says, as a catalog key.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::NoPassword => "account-password-none",
            Refusal::WrongCurrent => "account-password-wrong-current",
            Refusal::Mismatch => "account-password-mismatch",
            Refusal::SameAsCurrent => "account-password-same",
            Refusal::Weak(WeakPassword::TooShort) => "account-password-too-short",
            Refusal::Weak(WeakPassword::TooLong) => "account-password-too-long",
        }
    }
}

/// The checks that need no hashing, made before the current password is verified: they
/// cost nothing and say at once what to fix.
pub fn check_new(current: &Secret, new: &Secret, again: &Secret) -> Result<(), Refusal> {
    if !constant_time_eq(new.expose(), again.expose()) {
        return Err(Refusal::Mismatch);
    }
    check_new_password(new).map_err(Refusal::Weak)?;
    if constant_time_eq(current.expose(), new.expose()) {
        return Err(Refusal::SameAsCurrent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Secret {
        Secret(v.into())
    }

    #[test]
    fn new_passwords_are_checked_before_any_hashing() {
        let current = s("old password");
        assert_eq!(
            check_new(&current, &s("new password"), &s("new password")),
            Ok(())
        );
        assert_eq!(
            check_new(&current, &s("new password"), &s("new passwort")),
            Err(Refusal::Mismatch)
        );
        assert!(matches!(
            check_new(&current, &s("short"), &s("short")),
            Err(Refusal::Weak(_))
        ));
        assert_eq!(
            check_new(&current, &s("old password"), &s("old password")),
            Err(Refusal::SameAsCurrent)
        );
    }
}
