//! The intermediate representation every front end produces: migrations made of ops.
//!
//! Nothing downstream of this module looks at parser nodes: rules, the catalog replay and the
//! lock model see only these types and the source span of each op. An op says nothing of the
//! framework that wrote it; what a framework operation sends is SQL ([`Op::sent`]), written
//! by what its front end gave it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::postgres::PgVersion;
use crate::volatility::Versions;

/// A source file as read from disk, kept for snippets and line/column mapping.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the working directory when possible).
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// `path` as shown, made once: every finding in the file names it.
    shown: String,
    /// For a file with lines ended by a lone `\r`: the text with those as `\n` (same length, so
    /// offsets hold), for readers that only break lines at `\n`.
    lf_text: Option<String>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let line_starts = line_starts(&text);
        // `Path::display` goes through `fmt` and checks the bytes chunk by chunk; nearly every
        // path is UTF-8 already.
        let shown = path.to_str().map_or_else(|| path.display().to_string(), str::to_owned);
        let lone_cr = memchr::memchr_iter(b'\r', text.as_bytes()).any(|i| text.as_bytes().get(i + 1) != Some(&b'\n'));
        let lf_text = lone_cr.then(|| {
            let mut bytes = text.clone().into_bytes();
            for i in 0..bytes.len() {
                if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                    bytes[i] = b'\n';
                }
            }
            String::from_utf8(bytes).unwrap_or_default()
        });
        SourceFile { path, text, line_starts, shown, lf_text }
    }

    /// The text with each lone `\r` written as `\n` (same length, so offsets hold): what Python
    /// reads (universal newlines), and what snippet renderers expect.
    pub fn text_lf(&self) -> &str {
        self.lf_text.as_deref().unwrap_or(&self.text)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    pub fn display_path(&self) -> &str {
        &self.shown
    }
}

/// The byte offset where each line of `text` begins. A line ends at `\n`, `\r\n` or a lone `\r`,
/// as PostgreSQL's scanner, Python and editors read them.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let breaks =
        memchr::memchr2_iter(b'\n', b'\r', bytes).filter(|&i| !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')));
    std::iter::once(0).chain(breaks.map(|i| i + 1)).collect()
}

/// The lines of `text`, each with its line ending (see [`line_starts`]).
pub fn lines_with_endings(text: &str) -> impl Iterator<Item = &str> {
    let starts = line_starts(text);
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain(std::iter::once(text.len())).collect();
    starts.into_iter().zip(ends).filter(|(start, end)| start < end).map(move |(start, end)| &text[start..end])
}

/// A byte range in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }
}

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
    pub embedded_sql: Option<std::sync::Arc<str>>,
    /// SQL that undoes the ops read from one RunSQL (its `reverse_sql`), shared by all of them
    /// (the same `Arc`): the executor's rollback runs it once, for the whole group.
    pub reverse_sql: Option<std::sync::Arc<str>>,
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

    /// The statements the runner sends for this op, where they are not its statement's text.
    pub fn sent(&self) -> Option<Sent> {
        self.sender.as_ref().map(|sender| sender.sent(&self.kind))
    }

    /// An op read from SQL: its span is in `text`, which is kept as the op's SQL when the
    /// statement is later pointed at the Python string around it.
    pub fn embedded_in(self, text: &str, string: Span) -> Op {
        let sql = text.get(self.span.start..self.span.end).map(std::sync::Arc::from);
        Op { span: string, embedded_sql: sql, ..self }
    }
}

/// Writes the statements a runner sends for an op, from what its front end knew of the op
/// beyond its kind. They are written when asked: `plan`, `apply` and `trace` run a few ops,
/// while `lint` reads many and never runs one.
pub trait Sender: fmt::Debug + Send + Sync {
    fn sent(&self, kind: &OpKind) -> Sent;
}

/// The statements a runner sends for an op, as far as they are known before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// These statements, in order (none for an operation that changes nothing in the database).
    Statements(Vec<SentStatement>),
    /// Only known when the migration runs (code, a value computed then, a clause lockgate does
    /// not write), or not kept on the op; the reason says which.
    Unknown(String),
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

/// A possibly schema-qualified name of a relation or type. Unqualified names resolve to
/// `public`, so `users` and `public.users` are equal (and hash alike).
#[derive(Debug, Clone, Serialize)]
pub struct QualifiedName {
    pub schema: Option<String>,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: Option<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: schema.filter(|s| !s.is_empty()), name: name.into() }
    }

    /// `schema.name` or `name`, as `OpKind::Drop` spells its names.
    pub fn parse_dotted(name: &str) -> Self {
        match name.split_once('.') {
            Some((schema, name)) => QualifiedName::new(Some(schema.to_string()), name),
            None => QualifiedName::unqualified(name),
        }
    }

    pub fn unqualified(name: impl Into<String>) -> Self {
        QualifiedName { schema: None, name: name.into() }
    }

    /// The schema the name resolves to.
    pub fn schema_or_public(&self) -> &str {
        self.schema.as_deref().unwrap_or("public")
    }

    /// The same name with the schema it resolves to written out, for SQL that must not depend
    /// on the `search_path` it runs under.
    pub fn resolved(&self) -> QualifiedName {
        QualifiedName { schema: Some(self.schema_or_public().to_string()), name: self.name.clone() }
    }

    /// `(schema, name)` with the schema resolved: what equality and hashing compare.
    pub fn key(&self) -> (&str, &str) {
        (self.schema_or_public(), &self.name)
    }
}

impl PartialEq for QualifiedName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for QualifiedName {}

impl std::hash::Hash for QualifiedName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for QualifiedName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for QualifiedName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column type, normalised to PostgreSQL's canonical spelling (`integer`, `varchar(20)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlType {
    /// Canonical base name: `integer`, `bigint`, `varchar`, `numeric`, `timestamptz`, a user type.
    pub name: String,
    /// Type modifiers: length for varchar/char, precision and scale for numeric.
    pub modifiers: Vec<i64>,
    pub array: bool,
}

impl SqlType {
    pub fn named(name: &str) -> Self {
        SqlType { name: name.into(), modifiers: vec![], array: false }
    }

    pub fn with_modifiers(name: &str, modifiers: Vec<i64>) -> Self {
        SqlType { name: name.into(), modifiers, array: false }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.modifiers.is_empty() {
            let mods: Vec<String> = self.modifiers.iter().map(i64::to_string).collect();
            write!(f, "({})", mods.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// What a column default evaluates to, as far as locking is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DefaultExpr {
    /// A constant or an expression PostgreSQL evaluates once (`now()`, `'{}'`, `0`).
    Stable(String),
    /// Evaluated per row: forces a rewrite when a column is added with it.
    Volatile(String),
    /// Volatile on these versions only: it calls a built-in function that some versions lack
    /// (unknown, so volatile) or classify differently (`timezone(text, timetz)` before 15).
    VolatileOn(String, Versions),
}

impl DefaultExpr {
    pub fn text(&self) -> &str {
        match self {
            DefaultExpr::Stable(text) | DefaultExpr::Volatile(text) | DefaultExpr::VolatileOn(text, _) => text,
        }
    }

    /// Whether PostgreSQL `pg` evaluates it per row.
    pub fn is_volatile(&self, pg: PgVersion) -> bool {
        match self {
            DefaultExpr::Stable(_) => false,
            DefaultExpr::Volatile(_) => true,
            DefaultExpr::VolatileOn(_, versions) => versions.contains(pg),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Generated {
    Stored,
    Virtual,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    pub default: Option<DefaultExpr>,
    /// `GENERATED … AS IDENTITY`, or a `serial` pseudo-type.
    pub identity: bool,
    /// Declared with a `serial` pseudo-type (an owned sequence and a `nextval` default).
    pub serial: bool,
    pub generated: Option<Generated>,
    /// Constraints written inline on the column (REFERENCES, UNIQUE, PRIMARY KEY, CHECK).
    pub constraints: Vec<ConstraintDef>,
}

impl ColumnDef {
    /// Adding it fails on a table with any row: NOT NULL, and nothing fills existing rows.
    pub fn fails_on_rows(&self) -> bool {
        self.not_null && self.default.is_none() && !self.identity && self.generated.is_none()
    }
}

/// `"name"`, with embedded quotes doubled: how Django (and PostgreSQL) quote an identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`, or `"name"` when the name carries no schema: every part quoted, as the
/// frameworks write a relation. SQL that must name the schema quotes `name.resolved()`.
pub fn quote_relation(name: &QualifiedName) -> String {
    match &name.schema {
        Some(schema) => format!("{}.{}", quote_identifier(schema), quote_identifier(&name.name)),
        None => quote_identifier(&name.name),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConstraintKind {
    Check {
        /// Set when the expression is exactly `column IS NOT NULL`.
        not_null_column: Option<String>,
    },
    ForeignKey {
        columns: Vec<String>,
        references: QualifiedName,
        referenced_columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    PrimaryKey {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    Exclusion,
    /// PostgreSQL 18 named NOT NULL constraint (`ADD CONSTRAINT n NOT NULL col`).
    NotNull {
        column: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstraintDef {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    /// Written with NOT VALID: existing rows are not checked.
    pub not_valid: bool,
}

impl ConstraintDef {
    pub fn columns(&self) -> Vec<String> {
        match &self.kind {
            ConstraintKind::ForeignKey { columns, .. }
            | ConstraintKind::Unique { columns, .. }
            | ConstraintKind::PrimaryKey { columns, .. } => columns.clone(),
            ConstraintKind::Check { not_null_column: Some(column) } | ConstraintKind::NotNull { column } => {
                vec![column.clone()]
            }
            _ => vec![],
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_are_quoted_as_named_or_resolved() {
        let order = QualifiedName::unqualified("Order");
        assert_eq!(quote_relation(&order), "\"Order\"");
        assert_eq!(quote_relation(&order.resolved()), "\"public\".\"Order\"");
        let odd = QualifiedName::new(Some("My\"Schema".into()), "t");
        assert_eq!(quote_relation(&odd), "\"My\"\"Schema\".\"t\"");
    }
}
