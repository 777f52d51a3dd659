//! People: passwords, the login, organization selection and consent pages.
pub mod consent;
pub mod hash_threads;
pub mod login;
pub mod organization;
pub mod password;
