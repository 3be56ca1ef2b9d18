//! What stops a phase or a rollback. Every message names the step (with its source line) or the
//! journal, lock or snapshot concerned, keeps the server's own words, and says what to do next;
//! one that stops a phase after its snapshot says how to go back to it.

use std::fmt;

use super::framework::Failure;
use super::journal::JournalError;
use super::window::WindowError;
use crate::live::{describe, LiveError};
use crate::snapshot::{Snapshot, SnapshotError};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("[backfill] windows: {0}")]
    Window(#[from] WindowError),
    #[error("cannot take the runner lock: {0}")]
    RunnerLock(#[source] LiveError),
    #[error("another lockgate apply is running ({holder}); waited {} for it", crate::units::seconds(*waited_ms))]
    RunnerBusy { holder: String, waited_ms: f64 },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "{count} step(s) of an earlier phase have not run (first: {first}); apply the phases in order: expand, \
         backfill, contract"
    )]
    EarlierPhase { count: usize, first: String },
    #[error(
        "the {phase} phase starts with a snapshot of the database and no snapshot provider is set: pass \
         --snapshot rds:<instance-or-cluster-id>, pg_dump:<directory> or command:<shell command> (or \
         `[snapshot] provider` in lockgate.toml); --snapshot none runs without one"
    )]
    NoSnapshotProvider { phase: &'static str },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The snapshot failed, and so did journaling the failure (`status` will not show it).
    #[error("{snapshot}\n({journal})")]
    SnapshotUnjournaled {
        #[source]
        snapshot: SnapshotError,
        journal: Box<JournalError>,
    },
    /// `fact` is the fact as [`super::facts::describe`] says it.
    #[error("cannot check whether {fact}: {source}")]
    Fact { fact: String, source: LiveError },
    #[error("cannot read the server's health: {0}")]
    Health(#[source] LiveError),
    /// A step failed (and is journaled `failed` with the cause).
    #[error("step {step} ({path}:{line}) failed: {cause}")]
    Step {
        step: String,
        path: String,
        line: usize,
        #[source]
        cause: Box<StepFailure>,
    },
    /// A batch of a backfill failed: where, so the operator knows a rerun continues there.
    #[error("{source} (the batch of up to {size} rows after {from}; a rerun continues there)")]
    Batch { source: Box<ExecError>, size: u64, from: String },
    /// The phase stopped after the snapshot it started with.
    #[error("{source}\n{restore}")]
    AfterSnapshot { source: Box<ExecError>, restore: Restore },
    #[error(
        "step {step} of the {phase} phase has run: rollback only undoes an expand whose later phases have \
         not;\n{restore}"
    )]
    LaterPhaseRan { step: String, phase: &'static str, restore: Restore },
    #[error("step {step} ({title}) has no automatic undo;\n{restore}")]
    NoUndo { step: String, title: String, restore: Restore },
    #[error("undoing step {step} failed: {}", describe(source))]
    Undo { step: String, source: tokio_postgres::Error },
}

impl ExecError {
    /// Did the phase stop before its first step because of how it was invoked — its
    /// configuration (a bad `[[backfill.windows]]`, no snapshot provider) or its connection —
    /// rather than because of what it met on the way (a step, a snapshot, another runner, an
    /// earlier phase not run)? `apply` exits 2 for the first, like every command that could
    /// not start, and 1 for the second.
    pub fn is_invocation_error(&self) -> bool {
        matches!(self, ExecError::Window(_) | ExecError::RunnerLock(_) | ExecError::NoSnapshotProvider { .. })
    }
}

/// Why a step failed, as its error says it and the journal records it.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// The server's error, with its detail and hint.
    #[error("{}", describe(.0))]
    Server(#[source] tokio_postgres::Error),
    #[error(transparent)]
    Framework(#[from] Failure),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A framework's command succeeded, but the step's fact does not hold on this database.
    #[error(
        "`{command}` succeeded but {fact} does not hold on {database}: does the command use the database \
         lockgate was given (passed to it as LOCKGATE_DATABASE_URL)?"
    )]
    Elsewhere { command: String, fact: String, database: String },
    #[error("a batch of {size} rows after key ({from}) keeps hitting the statement timeout")]
    BatchTimeout { size: u64, from: String },
    /// A lock timeout or deadlock on every try the schedule allowed.
    #[error("{0} (retries exhausted)")]
    RetriesExhausted(#[source] Box<StepFailure>),
}

/// How to go back: to the snapshot taken before the phase, or, without one, to the deploy's own.
#[derive(Debug)]
pub struct Restore(pub Option<Snapshot>);

impl fmt::Display for Restore {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.0 {
            Some(snapshot) => write!(
                f,
                "the database was snapshotted before this phase ({} snapshot {}); to go back to it:\n  {}",
                snapshot.provider, snapshot.id, snapshot.restore
            ),
            None => f.write_str("restore from the snapshot taken before the deploy"),
        }
    }
}
