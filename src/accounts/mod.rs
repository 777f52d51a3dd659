//! People: passwords, the login and consent pages.
pub mod consent;
pub mod hash_threads;
pub mod login;
pub mod password;
