//! Follows the transaction a statement runs in while a migration is replayed: whether there is
//! one, which locks earlier statements of it still hold, and the session's timeouts.

use crate::catalog::default_constraint_name;
use crate::ir::{Migration, Op, OpKind, QualifiedName, Span, TransactionControl, TransactionMode};
use crate::locks::LockEffect;
use crate::postgres::LockMode;
use crate::units::parse_duration_ms;

/// A lock taken by an earlier statement of the current transaction; held until it ends.
#[derive(Debug, Clone)]
pub struct HeldLock {
    pub relation: QualifiedName,
    pub mode: LockMode,
    pub statement: usize,
    pub span: Span,
    /// The relation existed before this migration (a lock on a new one blocks no one).
    pub existed: bool,
}

/// A statement of the current transaction and the locks it took.
#[derive(Debug, Clone)]
pub struct TransactionStatement {
    pub statement: usize,
    pub span: Span,
    /// Each lock, and whether its relation existed before this migration.
    pub effects: Vec<(LockEffect, bool)>,
}

#[derive(Debug, Clone, Default)]
pub struct TransactionState {
    /// The statement runs inside a transaction block (wrapped by the runner or opened by BEGIN).
    pub in_transaction: bool,
    /// A BEGIN in the file opened the current transaction.
    pub explicit: bool,
    /// Where that BEGIN is.
    pub begin_span: Option<Span>,
    /// BEGIN seen while a transaction was already open.
    pub nested_begin: bool,
    pub held: Vec<HeldLock>,
    /// The statements of the current transaction so far, with what they locked.
    pub statements: Vec<TransactionStatement>,
    /// The effective `lock_timeout` in milliseconds, when the migration set one (0 = disabled).
    pub lock_timeout_ms: Option<u64>,
    pub statement_timeout_ms: Option<u64>,
    /// Constraints added NOT VALID in the current transaction: (table, constraint name).
    pub not_valid_in_transaction: Vec<(QualifiedName, String)>,
    /// Statements so far that took a lock blocking reads or writes on a table that existed
    /// before this migration, while no lock_timeout was set.
    pub unguarded_blocking_locks: usize,
    /// Statements so far that blocked traffic on a pre-existing table with no statement_timeout.
    pub unbounded_blocking_statements: usize,
    /// Number of the statement the state was last advanced past.
    last_statement: Option<usize>,
    /// Locks of the statement being replayed, added to `held` when it ends.
    pending: Vec<HeldLock>,
    local_lock_timeout: bool,
    local_statement_timeout: bool,
    /// The timeouts when the current transaction began: a ROLLBACK undoes a SET made in it.
    timeouts_at_begin: Timeouts,
    /// The open savepoints: name, the statement that set it, and the timeouts then. ROLLBACK TO
    /// undoes a SET made since, and releases the locks taken since.
    savepoints: Vec<Savepoint>,
}

#[derive(Debug, Clone)]
struct Savepoint {
    name: String,
    statement: usize,
    timeouts: Timeouts,
}

/// `lock_timeout` and `statement_timeout` in milliseconds, where set.
type Timeouts = (Option<u64>, Option<u64>);

impl TransactionState {
    /// The state as `migration` starts: the runner's session settings, then the migration's own
    /// (Alembic's `env.py`), are in force.
    pub fn start(migration: &Migration, runner_session: &[(String, String)]) -> Self {
        let mut state = TransactionState::default();
        for (name, value) in runner_session.iter().chain(&migration.session) {
            state.set(name, Some(value), false);
        }
        state.timeouts_at_begin = (state.lock_timeout_ms, state.statement_timeout_ms);
        state.in_transaction = migration.transaction == TransactionMode::Wrapped;
        state
    }

    /// Locks held by earlier statements of this transaction, strongest first.
    pub fn strongest_held(&self) -> Option<&HeldLock> {
        self.held.iter().max_by_key(|h| h.mode)
    }

    /// A lock_timeout is in force (0 disables it).
    pub fn lock_timeout_guards(&self) -> bool {
        self.lock_timeout_ms.is_some_and(|ms| ms > 0)
    }

    /// A statement_timeout is in force (0 disables it).
    pub fn statement_timeout_guards(&self) -> bool {
        self.statement_timeout_ms.is_some_and(|ms| ms > 0)
    }

    /// Called before the first op of each statement: the previous statement's locks are now held.
    pub fn begin_statement(&mut self, statement: usize) {
        if self.last_statement != Some(statement) {
            self.held.append(&mut self.pending);
            self.last_statement = Some(statement);
        }
    }

    /// Advances the state past `op`.
    /// `existed` tells whether a relation existed before this migration.
    pub fn after(&mut self, op: &Op, effects: &[LockEffect], existed: impl Fn(&QualifiedName) -> bool) {
        // Asked once per lock: each answer is a catalog lookup.
        let existed: Vec<bool> = effects.iter().map(|e| existed(&e.relation)).collect();
        let blocks_traffic = effects.iter().zip(&existed).any(|(e, existed)| e.mode >= LockMode::Share && *existed);
        if blocks_traffic && !self.lock_timeout_guards() {
            self.unguarded_blocking_locks += 1;
        }
        if blocks_traffic && !self.statement_timeout_guards() {
            self.unbounded_blocking_statements += 1;
        }
        match &op.kind {
            OpKind::Transaction(TransactionControl::Begin) => {
                if !self.in_transaction {
                    self.timeouts_at_begin = (self.lock_timeout_ms, self.statement_timeout_ms);
                }
                self.nested_begin = self.in_transaction && self.explicit;
                self.in_transaction = true;
                self.explicit = true;
                self.begin_span = Some(op.span);
            }
            OpKind::Transaction(control @ (TransactionControl::Commit | TransactionControl::Rollback)) => {
                // A COMMIT inside a runner's transaction ends it early; the rest runs in autocommit.
                // A ROLLBACK also takes back every SET made since the transaction began.
                if *control == TransactionControl::Rollback && self.in_transaction {
                    (self.lock_timeout_ms, self.statement_timeout_ms) = self.timeouts_at_begin;
                    self.local_lock_timeout = false;
                    self.local_statement_timeout = false;
                }
                self.end_transaction();
                self.in_transaction = false;
                self.explicit = false;
                self.begin_span = None;
            }
            OpKind::Transaction(TransactionControl::Savepoint(name)) if self.in_transaction => {
                self.savepoints.push(Savepoint {
                    name: name.clone(),
                    statement: op.statement,
                    timeouts: (self.lock_timeout_ms, self.statement_timeout_ms),
                });
            }
            OpKind::Transaction(TransactionControl::Release(name)) => {
                if let Some(at) = self.savepoints.iter().rposition(|s| &s.name == name) {
                    self.savepoints.truncate(at);
                }
            }
            OpKind::Transaction(TransactionControl::RollbackTo(name)) => {
                if let Some(at) = self.savepoints.iter().rposition(|s| &s.name == name) {
                    let savepoint = &self.savepoints[at];
                    (self.lock_timeout_ms, self.statement_timeout_ms) = savepoint.timeouts;
                    // Locks taken after the savepoint are released when it is rolled back to.
                    let since = savepoint.statement;
                    self.held.retain(|h| h.statement < since);
                    self.pending.retain(|h| h.statement < since);
                    self.savepoints.truncate(at + 1);
                }
            }
            // SET LOCAL outside a transaction block only draws a warning and changes nothing.
            OpKind::Setting { local: true, .. } if !self.in_transaction => {}
            OpKind::Setting { name, value, local } => self.set(name, value.as_deref(), *local),
            _ => {
                if self.in_transaction {
                    self.pending.extend(effects.iter().zip(&existed).map(|(e, existed)| HeldLock {
                        relation: e.relation.clone(),
                        mode: e.mode,
                        statement: op.statement,
                        span: op.span,
                        existed: *existed,
                    }));
                    let locked = effects.iter().cloned().zip(existed.iter().copied());
                    match self.statements.last_mut() {
                        Some(last) if last.statement == op.statement => last.effects.extend(locked),
                        _ => self.statements.push(TransactionStatement {
                            statement: op.statement,
                            span: op.span,
                            effects: locked.collect(),
                        }),
                    }
                    if let OpKind::AddConstraint { table, constraint, .. } = &op.kind {
                        if constraint.not_valid {
                            let name =
                                constraint.name.clone().unwrap_or_else(|| default_constraint_name(table, constraint));
                            self.not_valid_in_transaction.push((table.clone(), name));
                        }
                    }
                }
            }
        }
    }

    fn end_transaction(&mut self) {
        self.held.clear();
        self.savepoints.clear();
        self.statements.clear();
        self.pending.clear();
        self.not_valid_in_transaction.clear();
        if self.local_lock_timeout {
            self.lock_timeout_ms = None;
            self.local_lock_timeout = false;
        }
        if self.local_statement_timeout {
            self.statement_timeout_ms = None;
            self.local_statement_timeout = false;
        }
    }

    fn set(&mut self, name: &str, value: Option<&str>, local: bool) {
        let parsed = value.and_then(parse_duration_ms);
        match name {
            "lock_timeout" => {
                self.lock_timeout_ms = parsed;
                self.local_lock_timeout = local;
            }
            "statement_timeout" => {
                self.statement_timeout_ms = parsed;
                self.local_statement_timeout = local;
            }
            "all" => {
                self.lock_timeout_ms = None;
                self.statement_timeout_ms = None;
            }
            _ => {}
        }
    }
}
