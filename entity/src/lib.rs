//! SeaORM entities for Tessera's storage. Only `tessera::storage` uses them.
pub mod authorization_codes;
pub mod change_versions;
pub mod client_assertions;
pub mod clients;
pub mod consents;
pub mod login_sessions;
pub mod logout_deliveries;
pub mod refresh_tokens;
pub mod registration_tokens;
pub mod revoked_tokens;
pub mod server_keys;
pub mod sessions;
pub mod signing_keys;
pub mod token_families;
pub mod upstream_identities;
pub mod upstreams;
pub mod users;
