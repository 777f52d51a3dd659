//! Clients: registered applications.
use entity::clients::{self, ActiveModel, Column, Entity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::{join, split};
use crate::types::{AuthMethod, Scopes, SigningAlg};

/// A client as the protocol code sees it.
#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    pub scopes: Scopes,
    pub id_token_alg: SigningAlg,
    pub public: bool,
    pub jwks: Option<String>,
}

impl Client {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

impl From<clients::Model> for Client {
    fn from(m: clients::Model) -> Self {
        Client {
            auth_method: AuthMethod::parse(&m.token_endpoint_auth_method)
                .unwrap_or(AuthMethod::ClientSecretBasic),
            id_token_alg: SigningAlg::parse(&m.id_token_signed_response_alg)
                .unwrap_or(SigningAlg::Rs256),
            scopes: Scopes::from_stored(&m.scopes),
            redirect_uris: split(&m.redirect_uris),
            grant_types: split(&m.grant_types),
            client_id: m.client_id,
            secret_hash: m.secret_hash,
            name: m.name,
            public: m.public,
            jwks: m.jwks,
        }
    }
}

pub async fn insert(db: &impl ConnectionTrait, client: &Client, now: i64) -> Result<(), DbErr> {
    let model = ActiveModel {
        client_id: Set(client.client_id.clone()),
        secret_hash: Set(client.secret_hash.clone()),
        name: Set(client.name.clone()),
        redirect_uris: Set(join(&client.redirect_uris)),
        grant_types: Set(join(&client.grant_types)),
        token_endpoint_auth_method: Set(client.auth_method.as_str().into()),
        scopes: Set(client.scopes.to_string()),
        id_token_signed_response_alg: Set(client.id_token_alg.as_str().into()),
        public: Set(client.public),
        jwks: Set(client.jwks.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Entity::insert(model).exec(db).await.map(|_| ())
}

/// Reads the client on every call: a client changed through the CLI takes effect at once.
pub async fn find(db: &impl ConnectionTrait, client_id: &str) -> Result<Option<Client>, DbErr> {
    if client_id.is_empty() || client_id.len() > 256 {
        return Ok(None);
    }
    Ok(Entity::find_by_id(client_id.to_string())
        .one(db)
        .await?
        .map(Client::from))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Client>, DbErr> {
    Ok(Entity::find()
        .order_by_asc(Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(Client::from)
        .collect())
}

/// Deletes a client and revokes every token family issued to it.
pub async fn remove(db: &impl ConnectionTrait, client_id: &str, now: i64) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    super::families::revoke_for_client(db, client_id, now).await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(deleted.rows_affected == 1)
}

pub async fn set_secret_hash(
    db: &impl ConnectionTrait,
    client_id: &str,
    hash: &str,
    now: i64,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let result = Entity::update_many()
        .col_expr(Column::SecretHash, Expr::value(hash))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::ClientId.eq(client_id))
        .filter(Column::Public.eq(false))
        .exec(db)
        .await?;
    super::versions::bump(db, super::versions::CLIENTS, now).await?;
    Ok(result.rows_affected == 1)
}
