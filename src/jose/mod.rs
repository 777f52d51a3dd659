//! JOSE: the server's signing keys and the JWTs made with them. The only user of josekit
//! (with ring computing the server's own ES256 signatures, see `ring_jws`).
pub mod client_keys;
pub mod jwt;
pub mod key_lifecycle;
pub mod keys;
pub mod master_key;
pub mod ring_jws;
