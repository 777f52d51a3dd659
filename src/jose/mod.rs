//! JOSE: the server's signing keys and the JWTs made with them. The only user of josekit.
pub mod client_keys;
pub mod jwt;
pub mod keys;
