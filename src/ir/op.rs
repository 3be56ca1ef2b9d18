//! One change and what it sends: an op's kind (the semantic change, whatever wrote it), its
//! span, and the SQL a framework operation sends ([`Op::sent`]).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::*;

/// One schema or data change with its source span.
#[derive(Debug, Clone)]
pub struct Op {
    pub kind: OpKind,
    pub span: Span,
    /// Index of the source statement inside its migration; an ALTER TABLE with several
    /// subcommands yields several ops that share it.
    pub statement: usize,
    /// The statement's SQL as the runner sends it, where that is not the text at the span:
    /// read from a string inside Python code (RunSQL, `op.execute`), whose span points at the
    /// string, or with psql variables, placeholders or template expressions substituted. What
    /// the executor and trace run. `None` for other statements of SQL files (their text is at
    /// the span) and for framework operations.
    pub embedded_sql: Option<Arc<str>>,
    /// SQL that undoes the ops read from one RunSQL (its `reverse_sql`), shared by all of them
    /// (the same `Arc`): the executor's rollback runs it once, for the whole group.
    pub reverse_sql: Option<Arc<str>>,
    /// What writes the statements the runner sends for an op that is not SQL text of the
    /// migration (a framework operation, or SQL text whose parameters are bound when it runs),
    /// given by the front end that read it: see [`Op::sent`]. `None` for an op whose SQL is its
    /// statement's text (`embedded_sql`, or the text at the span).
    pub sender: Option<Arc<dyn Sender>>,
}

impl Op {
    pub fn new(kind: OpKind, span: Span, statement: usize) -> Op {
        Op { kind, span, statement, embedded_sql: None, reverse_sql: None, sender: None }
    }

    /// The op with what writes the statements its runner sends.
    pub fn sending(self, sender: Arc<dyn Sender>) -> Op {
        Op { sender: Some(sender), ..self }
    }

    /// The statements the runner sends for this op, where they are not its statement's text:
    /// in order (none for an operation that changes nothing in the database), or why they are
    /// only known when the migration runs (code, a value computed then, a clause lockgate does
    /// not write).
    pub fn sent(&self) -> Option<Result<Vec<SentStatement>, String>> {
        self.sender.as_ref().map(|sender| sender.sent(&self.kind))
    }

    /// An op read from SQL: its span is in `text`, which is kept as the op's SQL when the
    /// statement is later pointed at the Python string around it.
    pub fn embedded_in(self, text: &str, string: Span) -> Op {
        let sql = text.get(self.span.start..self.span.end).map(Arc::from);
        Op { span: string, embedded_sql: sql, ..self }
    }
}

/// Writes the statements a runner sends for an op, from what its front end knew of the op
/// beyond its kind. They are written when asked: `plan`, `apply` and `trace` run a few ops,
/// while `lint` reads many and never runs one.
pub trait Sender: fmt::Debug + Send + Sync {
    /// See [`Op::sent`].
    fn sent(&self, kind: &OpKind) -> Result<Vec<SentStatement>, String>;
}

/// One statement a runner sends: SQL text, or SQL that depends on what the database holds
/// when the migration runs, which whoever runs it resolves against the schema of that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentStatement {
    Sql(String),
    /// Drop the single-column foreign keys on `table.column` that the database holds, each made
    /// IMMEDIATE first (`SET CONSTRAINTS "fk" IMMEDIATE`, so pending deferred checks run before
    /// the drop rather than failing it).
    DropForeignKeysOn {
        table: QualifiedName,
        column: String,
    },
    /// Drop what the database holds under `name` on `table`: a foreign key (made IMMEDIATE
    /// first), another constraint (`ALTER TABLE … DROP CONSTRAINT`), or a unique index
    /// (`DROP INDEX IF EXISTS`).
    DropNamed {
        table: QualifiedName,
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DataChangeKind {
    Update,
    Delete,
    Insert,
    InsertSelect,
    Merge,
    Copy,
    /// Code that changes data and that lockgate cannot see into (RunPython, a DO block).
    Code,
}

impl DataChangeKind {
    /// Can it leave rows in a table that had none?
    pub fn may_add_rows(self) -> bool {
        !matches!(self, DataChangeKind::Update | DataChangeKind::Delete)
    }
}

/// Table-level ALTER TABLE actions that carry no schema the catalog tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TableAction {
    SetTablespace,
    SetLogged,
    SetUnlogged,
    SetAccessMethod,
    /// `SET (fillfactor …)`, `RESET (…)`, CLUSTER ON, SET WITHOUT CLUSTER.
    StorageParameters,
    /// `ALTER COLUMN … SET STATISTICS` / `SET (n_distinct …)`.
    ColumnStatistics,
    /// `SET STORAGE`, `SET COMPRESSION`: future values only.
    ColumnStorage,
    EnableTrigger,
    DisableTrigger,
    RowSecurity,
    ReplicaIdentity,
    Owner,
    Inherit,
    Identity,
    DropExpression,
    SetExpression,
    SetSchema,
    EnableRule,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TransactionControl {
    Begin,
    Commit,
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK TO [SAVEPOINT] name`: undoes what ran since the savepoint.
    RollbackTo(String),
    Other,
}

/// The tag of an `Other` op for framework code that changes no rows (a RunPython that reads
/// or connects signals): nothing to lint, but only the framework can run it.
pub const CODE_CHANGING_NO_ROWS: &str = "RunPython (changes no rows)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DroppedObject {
    Schema,
    Database,
    View,
    MaterializedView,
    Sequence,
    Type,
    Other,
}

/// The semantic kinds of change. Front ends map into these.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum OpKind {
    CreateTable {
        table: QualifiedName,
        columns: Vec<ColumnDef>,
        constraints: Vec<ConstraintDef>,
        partition_of: Option<QualifiedName>,
        partitioned: bool,
        if_not_exists: bool,
    },
    /// CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW: a new relation filled by a query.
    CreateTableAs {
        table: QualifiedName,
        materialized_view: bool,
    },
    DropTable {
        tables: Vec<QualifiedName>,
        cascade: bool,
    },
    RenameTable {
        table: QualifiedName,
        new_name: String,
    },
    AddColumn {
        table: QualifiedName,
        column: ColumnDef,
    },
    DropColumn {
        table: QualifiedName,
        column: String,
    },
    RenameColumn {
        table: QualifiedName,
        column: String,
        new_name: String,
    },
    AlterColumnType {
        table: QualifiedName,
        column: String,
        new_type: SqlType,
        /// A `USING` expression that recomputes the values: anything but the column itself or
        /// its cast to the new type (those convert as a change without `USING` does).
        using: bool,
    },
    SetNotNull {
        table: QualifiedName,
        column: String,
    },
    DropNotNull {
        table: QualifiedName,
        column: String,
    },
    SetDefault {
        table: QualifiedName,
        column: String,
        default: Option<DefaultExpr>,
    },
    AddConstraint {
        table: QualifiedName,
        constraint: ConstraintDef,
    },
    ValidateConstraint {
        table: QualifiedName,
        name: String,
    },
    DropConstraint {
        table: QualifiedName,
        name: String,
    },
    RenameConstraint {
        table: QualifiedName,
        name: String,
        new_name: String,
    },
    AlterTable {
        table: QualifiedName,
        action: TableAction,
    },
    AttachPartition {
        table: QualifiedName,
        partition: QualifiedName,
    },
    DetachPartition {
        table: QualifiedName,
        partition: QualifiedName,
        concurrently: bool,
    },
    CreateIndex {
        name: Option<String>,
        table: QualifiedName,
        /// Key columns; `None` for an expression.
        columns: Vec<Option<String>>,
        unique: bool,
        concurrently: bool,
        partial: bool,
        /// Columns its expressions and predicate read (`lower(email)`, `WHERE deleted_at IS
        /// NULL`): a type change of one rebuilds it. Empty where the front end does not know.
        reads: Vec<String>,
        /// `ON ONLY parent`: a partitioned index with no partition built yet.
        only: bool,
    },
    DropIndex {
        indexes: Vec<QualifiedName>,
        concurrently: bool,
        /// `IF EXISTS`: Django always writes it, Alembic with `if_exists=True`.
        if_exists: bool,
    },
    RenameIndex {
        index: QualifiedName,
        new_name: String,
    },
    /// `ALTER SEQUENCE … RENAME TO`: the defaults that use it follow (they name it by oid).
    RenameSequence {
        sequence: QualifiedName,
        new_name: String,
    },
    Reindex {
        /// The table or index rebuilt; `None` for a whole schema or database.
        target: Option<QualifiedName>,
        index: bool,
        /// `REINDEX SYSTEM`: the system catalogs, which PostgreSQL never reindexes concurrently.
        system: bool,
        concurrently: bool,
    },
    Truncate {
        tables: Vec<QualifiedName>,
        cascade: bool,
    },
    VacuumFull {
        tables: Vec<QualifiedName>,
    },
    /// Plain VACUUM (with or without ANALYZE), or ANALYZE alone.
    Vacuum {
        tables: Vec<QualifiedName>,
        /// ANALYZE alone: it reads a sample of bounded size, not the whole table.
        analyze_only: bool,
    },
    Cluster {
        table: Option<QualifiedName>,
    },
    RefreshMaterializedView {
        view: QualifiedName,
        concurrently: bool,
    },
    CreateTrigger {
        table: QualifiedName,
    },
    DropTrigger {
        table: QualifiedName,
    },
    CreateOrReplaceView {
        view: QualifiedName,
        replace: bool,
    },
    CreateEnum {
        name: QualifiedName,
        /// The labels, in order; `None` when only code run at migrate time knows them.
        labels: Option<Vec<String>>,
    },
    AddEnumValue {
        name: QualifiedName,
        value: String,
        /// BEFORE/AFTER given.
        positioned: bool,
    },
    RenameEnumValue {
        name: QualifiedName,
    },
    CreateDomain {
        name: QualifiedName,
        has_check: bool,
    },
    AlterDomainAddConstraint {
        name: QualifiedName,
        not_valid: bool,
    },
    CreateSequence {
        name: QualifiedName,
    },
    AlterSequence {
        name: QualifiedName,
    },
    DataChange {
        kind: DataChangeKind,
        table: Option<QualifiedName>,
        has_where: bool,
    },
    LockTable {
        tables: Vec<QualifiedName>,
        mode: crate::postgres::LockMode,
    },
    /// SET / RESET of a run-time parameter.
    Setting {
        name: String,
        /// `None` for RESET / SET … TO DEFAULT.
        value: Option<String>,
        local: bool,
    },
    Transaction(TransactionControl),
    Drop {
        object: DroppedObject,
        names: Vec<String>,
    },
    Comment {
        table: Option<QualifiedName>,
    },
    /// Parsed and understood as harmless for locking: CREATE FUNCTION, GRANT, SELECT, …
    Other {
        tag: String,
    },
    /// Parsed, but what it does is hidden from static analysis (a DO block, RunPython).
    Opaque {
        what: String,
    },
    /// Could not be parsed; the reason says why.
    Unparsed {
        reason: String,
    },
}

impl OpKind {
    /// The table an op changes, when it has one.
    pub fn table(&self) -> Option<&QualifiedName> {
        use OpKind::*;
        match self {
            CreateTable { table, .. }
            | CreateTableAs { table, .. }
            | RenameTable { table, .. }
            | AddColumn { table, .. }
            | DropColumn { table, .. }
            | RenameColumn { table, .. }
            | AlterColumnType { table, .. }
            | SetNotNull { table, .. }
            | DropNotNull { table, .. }
            | SetDefault { table, .. }
            | AddConstraint { table, .. }
            | ValidateConstraint { table, .. }
            | DropConstraint { table, .. }
            | RenameConstraint { table, .. }
            | AlterTable { table, .. }
            | AttachPartition { table, .. }
            | DetachPartition { table, .. }
            | CreateIndex { table, .. }
            | CreateTrigger { table }
            | DropTrigger { table } => Some(table),
            DataChange { table, .. } | Comment { table } => table.as_ref(),
            RefreshMaterializedView { view, .. } | CreateOrReplaceView { view, .. } => Some(view),
            _ => None,
        }
    }
}
