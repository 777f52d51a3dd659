//! People: passwords, the browser session, the login and consent pages.
pub mod consent;
pub mod login;
pub mod password;
pub mod session;
