//! JOSE: the server's signing keys and the JWTs made with them. The only user of josekit
//! (with ring computing the signatures of the server's own keys, see `ring_jws`).
pub mod client_keys;
pub mod jwt;
pub mod keys;
pub mod ring_jws;
