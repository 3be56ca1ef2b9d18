//! The intermediate representation every front end produces: migrations made of ops.
//!
//! Nothing downstream of this module looks at parser nodes: rules, the catalog replay and the
//! lock model see only these types and the source span of each op. An op says nothing of the
//! framework that wrote it; what a framework operation sends is SQL ([`Op::sent`]), written
//! by what its front end gave it.

use std::sync::Arc;

use serde::Serialize;

mod op;
mod schema;
mod source;

pub use op::*;
pub use schema::*;
pub use source::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Sql,
    Django,
    Alembic,
}

/// How the runner executes a migration's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionMode {
    /// The runner wraps the whole migration in one transaction.
    Wrapped,
    /// Statements run in autocommit unless the file opens a transaction itself.
    Autocommit,
}

/// One unit the user's runner applies.
#[derive(Debug)]
pub struct Migration {
    /// The runner's identifier: a version, a revision id or `app.name`.
    pub id: String,
    pub source: Arc<SourceFile>,
    pub framework: Framework,
    pub transaction: TransactionMode,
    pub ops: Vec<Op>,
    /// Inline suppressions found in the migration's comments.
    pub ignores: Vec<Ignore>,
    /// psql meta-commands that were skipped (they are not SQL).
    pub skipped_meta_commands: usize,
    /// Uses of psql variables replaced by the value a `\set` gave them.
    pub psql_variables: usize,
    /// Template expressions (`{{ … }}`) read as names.
    pub templates: usize,
    /// Settings the runner's session has when this migration starts, as `(name, value)`:
    /// Alembic's `env.py` `SET lock_timeout …`. The `[runner]` config comes before them.
    pub session: Vec<(String, String)>,
    /// Problems found while loading (a malformed directive, a broken dependency), reported
    /// under the named rule.
    pub problems: Vec<Problem>,
    /// Ids of the migrations that must run first, where the runner keeps a graph and records
    /// only its heads (Alembic's `down_revision` and `depends_on`).
    pub parents: Vec<String>,
    /// Ids of the migrations a squashed Django migration replaces.
    pub replaces: Vec<String>,
    /// What undoes the migration, op by op, where its framework says so and every op of it
    /// could be read: Alembic's `downgrade()`.
    pub rollback: Option<Vec<Op>>,
}

/// A problem the loaders found with a migration as a whole rather than with one op.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: ProblemKind,
    pub span: Span,
    pub message: String,
    pub help: String,
}

/// What a [`Problem`] is about. The front ends say what they found; the rules layer decides
/// which rule reports it (`rules::problem_rule`), so a loader never names a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The history does not form a graph the framework can apply: a missing or duplicate
    /// revision, a dependency on nothing, a name that is not a literal.
    MigrationGraph,
    /// A `lockgate:` comment that does not read as any directive.
    InvalidDirective,
    /// A migration already merged whose code has changed since.
    EditedAppliedMigration,
}

/// `-- lockgate: ignore rule-a, rule-b -- reason`.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// Where the comment is; a statement-level ignore covers the next statement.
    pub span: Span,
    /// `None` for a file-level ignore, else the statement it covers.
    pub statement: Option<usize>,
}
