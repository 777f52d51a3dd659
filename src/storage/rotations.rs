//! Refresh-token rotations on SQLite, written in batches: one statement rotates every family
//! whose refresh arrived while the previous statement ran.
//!
//! SQLite writes one statement at a time per file, and a writer that finds the lock taken
//! is put to sleep by its busy handler for 1, 2, 5 ms… — far longer than a rotation holds
//! the lock (tens of µs). Concurrent refreshes, each rotating on its own connection,
//! collided often and then slept: with eight refresh chains the server spent more time
//! asleep in the busy handler than rotating. Taking turns in the process instead (tried)
//! made every rotation wait out the previous one's whole round trip to SQLite's worker
//! thread. One task here takes whatever rotations are waiting and writes them as one
//! conditional update, so rotations never collide with each other, and a batch costs one
//! round trip and one commit. On PostgreSQL, whose row locks let concurrent rotations run
//! side by side, each is its own statement ([`families::rotate`]).
//!
//! A batch keeps `families::rotate`'s rule: a family rotates only from the generation
//! presented, for its client, while live and its user active; the database still picks the
//! one winner among instances. Two refreshes of one family never share a batch: the second
//! waits for the next, and sees the family as the first left it.
use std::collections::HashSet;
use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement};
use tokio::sync::{mpsc, oneshot};

use super::families::{self, Family};

/// Rotations in one statement, at most (four values each, below SQLite's 32,766).
const MAX_BATCH: usize = 64;
/// Rotations waiting for the writer, at most; beyond that a refresh waits to queue.
const QUEUE: usize = 1024;

/// One rotation asked for: see [`families::rotate`].
#[derive(Clone, Debug)]
pub struct Rotation {
    pub family_id: String,
    pub generation: i64,
    pub client_id: String,
    pub now: i64,
    pub idle_expires_at: i64,
}

struct Pending {
    rotation: Rotation,
    reply: oneshot::Sender<Result<Option<Family>, DbErr>>,
}

/// Rotates refresh tokens; cheap to clone.
#[derive(Clone)]
pub struct Rotations {
    db: DatabaseConnection,
    /// The batch writer, on SQLite.
    writer: Option<mpsc::Sender<Pending>>,
}

impl Rotations {
    /// Starts the batch writer on SQLite (it ends when the last clone is dropped). Needs a
    /// Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Rotations {
        let writer = (db.get_database_backend() == DbBackend::Sqlite).then(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(write_batches(db.clone(), receiver));
            sender
        });
        Rotations { db, writer }
    }

    /// The family after its rotation, or None if it did not rotate (see
    /// [`families::rotate`]).
    pub async fn rotate(&self, rotation: Rotation) -> Result<Option<Family>, DbErr> {
        let Some(writer) = &self.writer else {
            return rotate_one(&self.db, &rotation).await;
        };
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(pending)) = writer.send(Pending { rotation, reply }).await
        {
            // The writer is gone (the runtime is shutting down): nothing was written.
            return rotate_one(&self.db, &pending.rotation).await;
        }
        // No answer means the writer stopped mid-batch: the rotation may or may not have
        // been written, so the client is told to retry rather than that its token failed.
        answer.await.unwrap_or_else(|_| {
            Err(DbErr::ConnectionAcquire(
                sea_orm::error::ConnAcquireErr::ConnectionClosed,
            ))
        })
    }
}

async fn rotate_one(db: &DatabaseConnection, r: &Rotation) -> Result<Option<Family>, DbErr> {
    families::rotate(
        db,
        &r.family_id,
        r.generation,
        &r.client_id,
        r.now,
        r.idle_expires_at,
    )
    .await
}

/// Takes what is waiting, writes it as one statement, answers each; the rotations left out
/// of a batch (a second refresh of a family, another second's clock) open the next.
async fn write_batches(db: DatabaseConnection, mut receiver: mpsc::Receiver<Pending>) {
    let mut waiting: Vec<Pending> = Vec::new();
    loop {
        if waiting.is_empty() && receiver.recv_many(&mut waiting, MAX_BATCH).await == 0 {
            return;
        }
        while waiting.len() < QUEUE {
            match receiver.try_recv() {
                Ok(pending) => waiting.push(pending),
                Err(_) => break,
            }
        }
        let batch = take_batch(&mut waiting);
        write(&db, batch).await;
    }
}

/// Removes from `waiting` the rotations of the next batch: the oldest, and those after it
/// with the same clock reading and a family not yet in the batch, up to [`MAX_BATCH`].
fn take_batch(waiting: &mut Vec<Pending>) -> Vec<Pending> {
    let Some(first) = waiting.first() else {
        return Vec::new();
    };
    let clock = (first.rotation.now, first.rotation.idle_expires_at);
    let mut families = HashSet::new();
    let mut batch = Vec::new();
    let mut rest = Vec::with_capacity(waiting.len());
    for pending in waiting.drain(..) {
        let r = &pending.rotation;
        if batch.len() < MAX_BATCH
            && (r.now, r.idle_expires_at) == clock
            && families.insert(r.family_id.clone())
        {
            batch.push(pending);
        } else {
            rest.push(pending);
        }
    }
    *waiting = rest;
    batch
}

async fn write(db: &DatabaseConnection, batch: Vec<Pending>) {
    let Some(first) = batch.first() else { return };
    let (now, idle) = (first.rotation.now, first.rotation.idle_expires_at);
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(4 + 3 * batch.len());
    values.extend([now.into(), idle.into()]);
    for pending in &batch {
        let r = &pending.rotation;
        values.extend([
            r.family_id.as_str().into(),
            r.generation.into(),
            r.client_id.as_str().into(),
        ]);
    }
    values.extend([now.into(), now.into()]);
    let statement =
        Statement::from_sql_and_values(DbBackend::Sqlite, batch_sql(batch.len()), values);
    let rows = match db.query_all_raw(statement).await {
        Ok(rows) => rows,
        Err(e) => {
            // Nothing was written (the statement is its own transaction): each rotation is
            // tried alone, so that each request gets its own answer (503 while the database
            // is locked, say).
            tracing::debug!(error = %e, count = batch.len(), "batched rotation failed; rotating one by one");
            for pending in batch {
                let result = rotate_one(db, &pending.rotation).await;
                let _ = pending.reply.send(result);
            }
            return;
        }
    };
    let mut rotated: Vec<Option<Family>> = Vec::with_capacity(rows.len());
    for row in &rows {
        match Family::from_query_result(row, "") {
            Ok(family) => rotated.push(Some(family)),
            Err(e) => {
                // Written, but unreadable: a schema fault. Every request of the batch is
                // answered with it rather than retried (a retry would look like a replay).
                for pending in batch {
                    let _ = pending.reply.send(Err(DbErr::Custom(format!(
                        "a rotated family could not be read: {e}"
                    ))));
                }
                return;
            }
        }
    }
    for pending in batch {
        let family = rotated
            .iter_mut()
            .find(|f| {
                f.as_ref()
                    .is_some_and(|f| f.id == pending.rotation.family_id)
            })
            .and_then(Option::take);
        let _ = pending.reply.send(Ok(family));
    }
}

/// The statement rotating `rows` families: [`families::rotate`]'s conditions, with one
/// `(id, generation, client)` term a family (SQLite looks each up by its key).
fn batch_sql(rows: usize) -> &'static str {
    static SQLS: OnceLock<Vec<String>> = OnceLock::new();
    let sqls = SQLS.get_or_init(|| (1..=MAX_BATCH).map(build_batch_sql).collect());
    sqls[rows.clamp(1, MAX_BATCH) - 1].as_str()
}

fn build_batch_sql(rows: usize) -> String {
    let terms =
        vec!["(\"id\" = ? AND \"generation\" = ? AND \"client_id\" = ?)"; rows].join(" OR ");
    format!(
        "UPDATE \"token_families\" \
         SET \"generation\" = \"generation\" + 1, \"rotated_at\" = ?, \"idle_expires_at\" = ? \
         WHERE ({terms}) AND {} \
         RETURNING *",
        families::ROTATABLE
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pending(family: &str, now: i64) -> Pending {
        let (reply, _) = oneshot::channel();
        Pending {
            rotation: Rotation {
                family_id: family.into(),
                generation: 1,
                client_id: "c".into(),
                now,
                idle_expires_at: now + 10,
            },
            reply,
        }
    }

    #[test]
    fn a_batch_holds_each_family_once_and_one_clock_reading() {
        let mut waiting = vec![
            pending("a", 5),
            pending("b", 5),
            pending("a", 5),
            pending("c", 6),
            pending("d", 5),
        ];
        let batch = take_batch(&mut waiting);
        let ids = |v: &[Pending]| -> Vec<String> {
            v.iter().map(|p| p.rotation.family_id.clone()).collect()
        };
        assert_eq!(ids(&batch), ["a", "b", "d"]);
        assert_eq!(ids(&waiting), ["a", "c"]);
        assert_eq!(ids(&take_batch(&mut waiting)), ["a"]);
        assert_eq!(ids(&take_batch(&mut waiting)), ["c"]);
        assert!(take_batch(&mut waiting).is_empty());
    }

    #[test]
    fn the_statement_has_four_placeholders_a_family_and_four_more() {
        assert_eq!(batch_sql(1).matches('?').count(), 3 + 4);
        assert_eq!(batch_sql(3).matches('?').count(), 9 + 4);
        assert_eq!(batch_sql(MAX_BATCH).matches(" OR ").count(), MAX_BATCH - 1);
    }
}
