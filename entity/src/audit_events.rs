use sea_orm::entity::prelude::*;

/// One security-relevant event (sign-in, token issued, client changed, ...), kept for
/// `TESSERA_AUDIT_RETENTION_DAYS`. No column ever holds a password, secret, code or token:
/// tokens appear by id (`jti`, family id, key id) only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unix seconds; the retention purge and `audit list --since` bound on it.
    #[sea_orm(indexed)]
    pub at: i64,
    /// `login_success`, `token_issued`, ... (see `tessera::audit::Kind`).
    pub kind: String,
    /// Not indexed: `audit list --client` scans `at`, newest first (migration
    /// `m20261205_000100_audit_client_index`).
    pub client_id: Option<String>,
    /// Not indexed: `audit list --user` matches it or `username` (migration
    /// `m20261204_000100_audit_user_index`).
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Why (a fixed word: `wrong_password`, `cli`, ...), never free text from a request.
    pub reason: Option<String>,
    /// The grant type of a `token_issued` event.
    pub grant_type: Option<String>,
    /// What the event is about, by id: `jti:...`, `family:...`, `kid:...`, `sid:...`.
    pub target: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
