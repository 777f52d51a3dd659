//! The OAuth 2.0 / OpenID Connect protocol endpoints.
pub mod access;
pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod introspect;
pub mod params;
pub mod refresh_tokens;
pub mod register;
pub mod revoke;
pub mod token;
pub mod tokens;
pub mod userinfo;
