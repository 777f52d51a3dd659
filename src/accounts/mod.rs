//! People: passwords, the login, organization selection, consent and account pages.
pub mod account;
pub mod consent;
pub mod hash_threads;
pub mod identity;
pub mod login;
pub mod organization;
pub mod password;
