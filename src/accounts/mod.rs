//! People: passwords, the login and consent pages, the account page.
pub mod account;
pub mod consent;
pub mod hash_threads;
pub mod identity;
pub mod login;
pub mod password;
