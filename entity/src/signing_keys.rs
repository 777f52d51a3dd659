use sea_orm::entity::prelude::*;

/// A signing key over its life: `next` (published, not signing yet), `active` (signs; at
/// most one per algorithm, enforced by a partial unique index), `retiring` (published, no
/// longer signs), `retired` (gone from the JWKS; kept for the record). The private key is
/// stored only sealed under the master key (`tessera::sealing`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// RFC 7638 thumbprint of the public key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    pub state: String,
    /// The PEM private key, sealed.
    #[sea_orm(column_type = "Text")]
    pub private_key: String,
    pub created_at: i64,
    /// When a `next` key becomes `active`.
    pub activate_at: Option<i64>,
    /// When it became `active`.
    pub activated_at: Option<i64>,
    /// When it stopped signing (became `retiring`).
    pub retiring_since: Option<i64>,
    pub retired_at: Option<i64>,
    /// Set on the active key when its successor was created: at most one rotation at a time.
    pub rotation_started_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
