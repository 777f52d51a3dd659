//! The OAuth 2.0 / OpenID Connect protocol endpoints.
pub mod access;
pub mod authorize;
pub mod client_auth;
pub mod cors;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod interaction;
pub mod introspect;
pub mod logout;
pub mod params;
pub mod refresh_token_format;
pub mod register;
pub mod revoke;
pub mod token_endpoint;
pub mod token_minting;
pub mod userinfo;
