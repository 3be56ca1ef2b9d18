//! What is running right now: open transactions and the relation locks they hold or wait
//! for, anti-wraparound autovacuum, prepared transactions and replication lag. A migration's
//! lock request queues behind a conflicting lock, and every later query on the table queues
//! behind the migration, so these are the sessions that turn a fast ALTER into an outage.

use serde::{Deserialize, Serialize};

use super::{LiveError, Session};
use crate::ir::QualifiedName;
use crate::live::schema::qualified;
use crate::postgres::LockMode;

/// One session with an open transaction (or a prepared transaction, pid 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backend {
    pub pid: i32,
    /// `active`, `idle in transaction`, `prepared`, …
    pub state: String,
    pub backend_type: String,
    pub user: Option<String>,
    pub application: Option<String>,
    /// Seconds since its transaction began.
    pub transaction_age_s: f64,
    /// Holds a snapshot (`backend_xmin`) that CREATE INDEX CONCURRENTLY waits for: the
    /// server waits for older snapshots in the same database only, and not for vacuum.
    pub holds_snapshot: bool,
    /// Its query with literals replaced by `$n` and cut to a readable length.
    pub query: String,
    /// Autovacuum that will not yield its lock (`to prevent wraparound`).
    pub wraparound_vacuum: bool,
    /// Relation locks held (granted) or awaited.
    pub locks: Vec<HeldRelationLock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldRelationLock {
    pub relation: String,
    pub schema: String,
    pub mode: LockMode,
    pub granted: bool,
}

impl HeldRelationLock {
    pub fn relation(&self) -> QualifiedName {
        qualified(&self.schema, &self.relation)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replica {
    pub name: String,
    pub state: String,
    pub replay_lag_s: Option<f64>,
}

/// A moment's view of the server's sessions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Activity {
    pub backends: Vec<Backend>,
    pub replicas: Vec<Replica>,
}

impl Activity {
    pub fn read(session: &Session) -> Result<Activity, LiveError> {
        let mut backends: Vec<Backend> = session
            .query(
                "sessions",
                "SELECT a.pid, COALESCE(a.state, ''), COALESCE(a.backend_type, ''), a.usename::text, a.application_name, \
                        EXTRACT(epoch FROM now() - a.xact_start)::float8, \
                        a.backend_xmin IS NOT NULL AND a.backend_type IS DISTINCT FROM 'autovacuum worker' \
                          AND COALESCE(a.query, '') !~* '^\\s*vacuum\\M', \
                        COALESCE(a.query, '') \
                 FROM pg_stat_activity a \
                 WHERE a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL AND a.datname = current_database() \
                 ORDER BY a.xact_start",
                &[],
            )?
            .iter()
            .map(|row| {
                let query: String = row.get(7);
                Backend {
                    pid: row.get(0),
                    state: row.get(1),
                    backend_type: row.get(2),
                    user: row.get(3),
                    application: row.get(4),
                    transaction_age_s: row.get::<_, Option<f64>>(5).unwrap_or(0.0),
                    holds_snapshot: row.get(6),
                    wraparound_vacuum: query.contains("(to prevent wraparound)"),
                    query: strip_literals(&query),
                    locks: vec![],
                }
            })
            .collect();
        for row in session.query(
            "prepared transactions",
            "SELECT gid, EXTRACT(epoch FROM now() - prepared)::float8, owner::text FROM pg_prepared_xacts \
             WHERE database = current_database()",
            &[],
        )? {
            backends.push(Backend {
                pid: 0,
                state: format!("prepared ({})", row.get::<_, String>(0)),
                backend_type: "prepared transaction".into(),
                user: row.get(2),
                application: None,
                transaction_age_s: row.get::<_, Option<f64>>(1).unwrap_or(0.0),
                holds_snapshot: true,
                query: String::new(),
                wraparound_vacuum: false,
                locks: vec![],
            });
        }
        let locks = session.query(
            "relation locks",
            "SELECT COALESCE(l.pid, 0), n.nspname::text, c.relname::text, l.mode, l.granted \
             FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.pid IS DISTINCT FROM pg_backend_pid() AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )?;
        for row in locks {
            let pid: i32 = row.get(0);
            let Some(mode) = LockMode::from_pg_locks_name(&row.get::<_, String>(3)) else { continue };
            let lock = HeldRelationLock { schema: row.get(1), relation: row.get(2), mode, granted: row.get(4) };
            if let Some(backend) = backends.iter_mut().find(|b| b.pid == pid) {
                backend.locks.push(lock);
            }
        }
        let replicas = session
            .query(
                "replication",
                "SELECT COALESCE(application_name, ''), COALESCE(state, ''), EXTRACT(epoch FROM replay_lag)::float8 \
                 FROM pg_stat_replication",
                &[],
            )?
            .iter()
            .map(|row| Replica { name: row.get(0), state: row.get(1), replay_lag_s: row.get(2) })
            .collect();
        Ok(Activity { backends, replicas })
    }
}

impl Activity {
    /// Sessions holding, or queued for, a lock on `relation` that conflicts with `mode`, and
    /// that lock. Ordinary autovacuum is left out: it cancels itself when a conflicting lock is
    /// requested (autovacuum to prevent wraparound does not, and is kept).
    pub fn conflicting<'a>(
        &'a self,
        relation: &'a QualifiedName,
        mode: LockMode,
    ) -> impl Iterator<Item = (&'a Backend, &'a HeldRelationLock)> + 'a {
        self.backends.iter().filter_map(move |backend| {
            let yields = backend.backend_type == "autovacuum worker" && !backend.wraparound_vacuum;
            let lock = backend.locks.iter().find(|l| &l.relation() == relation && l.mode.conflicts_with(mode))?;
            (!yields).then_some((backend, lock))
        })
    }
}

impl Backend {
    /// `pid 4242 (idle in transaction, transaction open 3.2 min)`.
    pub fn describe(&self) -> String {
        format!(
            "pid {} ({}, transaction open {})",
            self.pid,
            self.state,
            crate::units::seconds(self.transaction_age_s * 1000.0)
        )
    }
}

/// A query as it may be shown: constants replaced by `$n` (PostgreSQL's own normalization
/// when the text parses, else a lexical pass), cut at 100 characters.
pub fn strip_literals(query: &str) -> String {
    let normalized = pg_query::normalize(query).unwrap_or_else(|_| lexical_strip(query));
    let flat = normalized.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Quoted strings and numbers outside identifiers become `?` (for text the parser rejects,
/// such as a query cut off at `track_activity_query_size`).
fn lexical_strip(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut previous_is_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                while let Some(inner) = chars.next() {
                    if inner == '\'' && chars.peek() != Some(&'\'') {
                        break;
                    }
                    if inner == '\'' {
                        chars.next();
                    }
                }
                out.push('?');
                previous_is_word = false;
            }
            d if d.is_ascii_digit() && !previous_is_word => {
                while chars.peek().is_some_and(|n| n.is_ascii_digit() || *n == '.') {
                    chars.next();
                }
                out.push('?');
            }
            other => {
                previous_is_word = other.is_alphanumeric() || other == '_';
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_never_reach_the_output() {
        assert_eq!(
            strip_literals("SELECT * FROM users WHERE email = 'a@b.c' AND id = 42"),
            "SELECT * FROM users WHERE email = $1 AND id = $2"
        );
        let cut = strip_literals("UPDATE t2 SET secret = 'hunter2' WHERE id IN (1, 2");
        assert!(!cut.contains("hunter2") && !cut.contains('1') && cut.contains("t2"), "{cut}");
    }
}
