//! `lockgate trace`: run migrations on a scratch database, statement by statement in their
//! runner's transaction model, and compare what the server did (locks, rewrites, scans) with
//! what the lock model says. Static analysis cannot see into functions, `DO` blocks, triggers
//! or extensions, nor know every server version; the server can.
//!
//! SQL runs as written. Django and Alembic operations run as the SQL their schema editors send
//! ([`crate::ir::Op::sent`], resolved against the catalog by [`crate::plan::sent`]); what is
//! only known at run time (RunPython, values Python computes) is reported as not traced. The database is left migrated: it is a scratch database.

pub mod observe;
mod seed;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::analysis::{self, LintResult, ReplayStep, Visitor};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::ir::{Migration, OpKind, QualifiedName, Span, TransactionControl, TransactionMode};
use crate::live::history::{History, Runner};
use crate::live::{describe, LiveError, Session};
use crate::postgres::{LockMode, PgVersion};
use crate::replay::transaction::TransactionState;
use crate::rules::{self, Severity, Violation};
use observe::{relation_name, Before, Observation, Scans, WorkClass};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Live(#[from] LiveError),
    /// `--all` on a database that has tables of its own.
    #[error(
        "--all runs every migration from the first: it needs an empty database, and this one has tables ({})",
        list(.0)
    )]
    NotEmpty(Vec<String>),
    /// Tables hold rows, and `--allow-data` was not given.
    #[error(
        "tables hold rows ({}): trace runs the migrations on the database and leaves them applied, \
         so it is meant for a scratch database; pass --allow-data if this one is",
        list(.0)
    )]
    HoldsRows(Vec<String>),
    #[error("{what}: {message}")]
    Query { what: &'static str, message: String },
}

impl TraceError {
    fn query(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> TraceError {
        move |e| TraceError::Query { what, message: describe(&e) }
    }
}

/// How a trace runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Run every migration read, not only those the history tables do not record; the
    /// database must then have no tables of its own.
    pub all: bool,
    /// Run even though user tables hold rows.
    pub allow_data: bool,
    /// Do not insert a row into each table the migrations create.
    pub no_seed: bool,
}

/// What the lock model predicts for one relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicted {
    pub relation: String,
    pub mode: LockMode,
    pub work: Option<WorkClass>,
}

/// What the server did during one statement.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The strongest lock the statement took on each table that existed before it (indexes and
    /// the relations it creates left out), and whether it was already held before (a mode
    /// held already is not listed again, so the statement may or may not have asked for it).
    pub locks: Vec<(String, LockMode, bool)>,
    /// Whether locks were observed: a statement that cannot run in a transaction block releases
    /// them before anyone can look.
    pub locks_observed: bool,
    /// Tables whose file was replaced while holding data.
    pub rewritten: Vec<String>,
    /// Tables scanned, with the transaction's counters for the statement.
    pub scans: Vec<(String, Scans)>,
    pub duration: Duration,
    /// From the start of the statement to the end of its transaction: how long the locks it
    /// took were held (a fast ALTER early in a transaction holds its lock through the rest).
    pub held_for: Option<Duration>,
}

/// What became of one statement (or one framework operation).
#[derive(Debug, Clone)]
pub enum Outcome {
    Traced {
        model: Vec<Predicted>,
        seen: Seen,
        mismatches: Vec<Mismatch>,
    },
    /// BEGIN, COMMIT, ROLLBACK or a savepoint, sent as written.
    Control,
    /// Not run: why it cannot be (RunPython, a value only Python knows).
    NotTraced(String),
    /// The server refused it; the trace stopped here.
    Failed(String),
    /// Not run because an earlier statement failed.
    NotReached,
}

/// A disagreement between the model and the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The server did more than the model says (a lock or work lint does not report).
    pub under: bool,
    pub message: String,
}

/// One statement of a migration as traced.
#[derive(Debug, Clone)]
pub struct Traced {
    /// Index into [`Trace::migrations`].
    pub migration: usize,
    pub span: Span,
    /// The statement's index in its migration, for `lockgate: ignore` comments.
    pub statement: usize,
    pub line: usize,
    /// The SQL sent, one statement per entry (a framework operation may send several).
    pub sql: Vec<String>,
    /// Inside a transaction (the runner's or the file's own).
    pub in_transaction: bool,
    pub outcome: Outcome,
}

/// A finished trace.
pub struct Trace {
    pub server_version: String,
    /// The migrations traced, in runner order.
    pub migrations: Vec<Migration>,
    pub statements: Vec<Traced>,
    /// The findings: `lock-model-mismatch`, and `unanalyzable-operation` for what was not traced.
    pub result: LintResult,
    pub notes: Vec<String>,
    /// The server's error when a statement failed and the trace stopped.
    pub failed: Option<String>,
}

/// Traces the pending migrations (or all, with `options.all`) of `migrations` (every migration
/// read, in runner order) on the database of `session`.
pub fn trace(
    session: &mut Session,
    migrations: Vec<Migration>,
    config: &Config,
    options: Options,
) -> Result<Trace, TraceError> {
    let server = crate::live::Server::read(session)?;
    let history = History::read(session)?;
    let history_tables: BTreeSet<String> = history.tables.iter().map(|t| t.table.clone()).collect();
    refuse_unless_scratch(session, &history_tables, options)?;
    let mut notes = vec![];
    let pending_flags = if options.all { vec![true; migrations.len()] } else { history.pending(&migrations) };
    let pending: Vec<Migration> =
        migrations.into_iter().zip(&pending_flags).filter(|(_, p)| **p).map(|(m, _)| m).collect();
    if !options.all && pending.len() < pending_flags.len() {
        notes.push(format!(
            "{} migrations recorded in the history tables were not run",
            pending_flags.len() - pending.len()
        ));
    }
    if options.all {
        // The runner creates its history table before the first migration; one may alter it.
        let mut runners: Vec<Runner> = vec![];
        for runner in pending.iter().filter_map(Runner::of_sql_migration) {
            if !runners.contains(&runner) {
                runners.push(runner);
            }
        }
        for runner in runners {
            if let Some(ddl) = runner.history_table_ddl() {
                session.execute(ddl).map_err(TraceError::query("the runner's history table"))?;
            }
        }
    }
    let mut catalog = if options.all {
        Catalog::default()
    } else {
        crate::live::schema::LiveSchema::read(session, &server)?.catalog()
    };
    // The migrations run in sessions of this server: its TimeZone decides timestamp changes.
    catalog.set_server_time_zone(server.time_zone.clone());
    let pg = PgVersion(server.major().clamp(PgVersion::OLDEST.0, PgVersion::NEWEST.0));

    let mut tracer = Tracer {
        db: session,
        major: server.major(),
        seed: !options.no_seed,
        unit: None,
        in_transaction: false,
        failed: None,
        statements: vec![],
        notes: vec![],
        seeded: vec![],
        open: vec![],
        migration_ids: pending.iter().map(|m| m.id.clone()).collect(),
    };
    analysis::replay(&pending, catalog, pg, &mut tracer);
    let Tracer { statements, notes: tracer_notes, failed, .. } = tracer;
    notes.extend(tracer_notes);

    let result = findings(&pending, &statements, config);
    Ok(Trace { server_version: server.version, migrations: pending, statements, result, notes, failed })
}

/// Trace is for scratch databases: it runs DDL and leaves it there.
fn refuse_unless_scratch(
    session: &mut Session,
    history_tables: &BTreeSet<String>,
    options: Options,
) -> Result<(), TraceError> {
    let tables = session
        .query_raw(
            "SELECT c.oid::regclass::text, n.nspname || '.' || c.relname
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
             ORDER BY 1",
        )
        .map_err(TraceError::query("user tables"))?;
    let tables: Vec<String> = tables
        .iter()
        .filter(|r| !history_tables.contains(&r.get::<_, String>(1)))
        .map(|r| r.get::<_, String>(0))
        .collect();
    if options.all && !tables.is_empty() {
        return Err(TraceError::NotEmpty(tables));
    }
    if options.allow_data {
        return Ok(());
    }
    let mut with_rows = vec![];
    for table in &tables {
        let rows = session
            .query_raw(&format!("SELECT EXISTS (SELECT FROM {table})"))
            .map_err(TraceError::query("rows of a table"))?;
        if rows.first().is_some_and(|r| r.get::<_, bool>(0)) {
            with_rows.push(table.clone());
        }
    }
    if !with_rows.is_empty() {
        return Err(TraceError::HoldsRows(with_rows));
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// The statement being gathered: an SQL statement's ops (an ALTER TABLE with several actions
/// has several), or one framework operation.
struct Unit {
    migration: usize,
    span: Span,
    statement: usize,
    line: usize,
    sql: Result<Vec<String>, String>,
    model: BTreeMap<String, (LockMode, Option<WorkClass>)>,
    control: Option<TransactionControl>,
    /// Tables the statement creates, to seed.
    creates: Vec<QualifiedName>,
}

struct Tracer<'s> {
    db: &'s mut Session,
    major: u32,
    seed: bool,
    unit: Option<Unit>,
    /// A transaction is open on the server (the runner's, or one the file began).
    in_transaction: bool,
    failed: Option<String>,
    statements: Vec<Traced>,
    notes: Vec<String>,
    /// The rows inserted, in order.
    seeded: Vec<seed::Seeded>,
    /// Statements run in the open transaction (index in `statements`) and when each started.
    open: Vec<(usize, Instant)>,
    /// The id of each migration, for notes.
    migration_ids: Vec<String>,
}

impl Visitor for Tracer<'_> {
    fn op(&mut self, step: &ReplayStep) {
        let op = step.op;
        // A framework operation carries what its schema editor sends; SQL text is its own statement.
        let framework_op = op.sender.is_some();
        let continues = !step.first_in_statement && !framework_op;
        if !continues {
            self.flush();
            if step.position == 0 && step.migration.transaction == TransactionMode::Wrapped {
                self.begin_runner_transaction();
            }
            let sql = if framework_op {
                crate::plan::sent::statements(op, step.catalog)
            } else {
                Ok(vec![crate::plan::recipes::statement_text_of(step.migration, op).to_string()])
            };
            self.unit = Some(Unit {
                migration: step.migration_index,
                span: op.span,
                statement: op.statement,
                line: step.migration.source.line_col(op.span.start).0,
                sql,
                model: BTreeMap::new(),
                control: match &op.kind {
                    OpKind::Transaction(control) => Some(control.clone()),
                    _ => None,
                },
                creates: vec![],
            });
        }
        let Some(unit) = self.unit.as_mut() else { return };
        if let OpKind::CreateTable { table, .. } = &op.kind {
            unit.creates.push(table.clone());
        }
        for effect in step.effects {
            let (mode, work) = unit.model.entry(relation_name(&effect.relation)).or_insert((effect.mode, None));
            *mode = (*mode).max(effect.mode);
            *work = (*work).max(WorkClass::of(effect.work));
        }
    }

    fn end_of_migration(
        &mut self,
        _index: usize,
        migration: &Migration,
        _transaction: &TransactionState,
        _: &crate::catalog::Catalog,
    ) {
        self.flush();
        if migration.ops.is_empty() {
            return;
        }
        // The runner commits its transaction. A file that began one and never ended it is
        // committed too, so that the migrations after it can be traced; runners differ there
        // (psql's session rolls it back when it ends), which lint reports as unclosed-transaction.
        if self.in_transaction && self.failed.is_none() {
            self.send("COMMIT", "the migration's COMMIT");
            self.transaction_ended();
        }
        self.in_transaction = false;
    }
}

impl Tracer<'_> {
    fn begin_runner_transaction(&mut self) {
        if self.failed.is_none() && !self.in_transaction {
            self.send("BEGIN", "the runner's BEGIN");
            self.in_transaction = true;
        }
    }

    /// Sends bookkeeping SQL; a failure stops the trace.
    fn send(&mut self, sql: &str, what: &str) {
        if let Err(error) = self.db.execute(sql) {
            self.failed.get_or_insert_with(|| format!("{what} failed: {}", describe(&error)));
        }
    }

    /// Runs the gathered statement and records what the server did.
    fn flush(&mut self) {
        let Some(unit) = self.unit.take() else { return };
        let in_transaction = self.in_transaction;
        let mut traced = Traced {
            migration: unit.migration,
            span: unit.span,
            statement: unit.statement,
            line: unit.line,
            sql: unit.sql.clone().unwrap_or_default(),
            in_transaction,
            outcome: Outcome::NotReached,
        };
        if self.failed.is_some() {
            self.statements.push(traced);
            return;
        }
        let sql = match unit.sql {
            Ok(sql) => sql,
            Err(why) => {
                traced.outcome = Outcome::NotTraced(why);
                self.statements.push(traced);
                return;
            }
        };
        let mut started = Instant::now();
        let control = unit.control.is_some();
        traced.outcome = match unit.control {
            Some(control) => self.transaction_control(control, &sql),
            None => self.run(&unit.model, &sql),
        };
        // A seeded row can be what a statement trips on (a NOT NULL column added without a
        // default, a new CHECK, a partition bound); on a real deploy the table may well have
        // been empty then. The rows go, and the statement runs again without them.
        if let Outcome::Failed(error) = &traced.outcome {
            if !control && !self.seeded.is_empty() {
                let tables = list(&self.seeded.iter().map(|s| s.table.to_string()).collect::<Vec<_>>());
                self.notes.push(format!(
                    "line {} of {} failed with the rows trace inserted into {tables} ({error}); it ran again without them",
                    unit.line, self.migration_ids[unit.migration]
                ));
                self.unseed();
                started = Instant::now();
                traced.outcome = self.run(&unit.model, &sql);
            }
        }
        if let Outcome::Traced { seen, .. } = &mut traced.outcome {
            if self.in_transaction {
                self.open.push((self.statements.len(), started));
            } else {
                // Its own transaction: the locks went with it.
                seen.held_for = Some(seen.duration);
            }
        }
        if let Outcome::Failed(error) = &traced.outcome {
            self.failed = Some(error.clone());
            if self.in_transaction {
                let _ = self.db.execute("ROLLBACK");
                self.in_transaction = false;
            }
            self.open.clear();
        } else if self.seed {
            for table in &unit.creates {
                match seed::one_row(self.db, table, self.major, self.in_transaction) {
                    Ok(seeded) => self.seeded.push(seeded),
                    Err(why) => self.notes.push(format!("could not seed `{table}` with a row: {why}")),
                }
            }
        }
        self.statements.push(traced);
    }

    /// Deletes the seeded rows, the latest first (a row may reference an earlier one). Inside a
    /// transaction each delete has a savepoint, so that a row that cannot go (the migrations
    /// made it referenced) leaves the transaction usable; it stays.
    fn unseed(&mut self) {
        for seeded in std::mem::take(&mut self.seeded).into_iter().rev() {
            if self.in_transaction {
                let _ = self.db.execute("SAVEPOINT lockgate_unseed");
            }
            let removed = seeded.remove(self.db);
            if self.in_transaction {
                let end = match removed {
                    Ok(()) => "RELEASE SAVEPOINT lockgate_unseed",
                    Err(_) => "ROLLBACK TO SAVEPOINT lockgate_unseed; RELEASE SAVEPOINT lockgate_unseed",
                };
                let _ = self.db.execute(end);
            }
        }
    }

    /// The transaction ended: the statements that ran in it held their locks until now.
    fn transaction_ended(&mut self) {
        for (index, started) in self.open.drain(..) {
            if let Some(Traced { outcome: Outcome::Traced { seen, .. }, .. }) = self.statements.get_mut(index) {
                seen.held_for = Some(started.elapsed());
            }
        }
    }

    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT: sent as written; the server's transaction state follows.
    fn transaction_control(&mut self, control: TransactionControl, sql: &[String]) -> Outcome {
        for statement in sql {
            if let Err(error) = self.db.execute(statement) {
                return Outcome::Failed(describe(&error));
            }
        }
        match control {
            TransactionControl::Begin => self.in_transaction = true,
            TransactionControl::Commit | TransactionControl::Rollback => {
                self.in_transaction = false;
                self.transaction_ended();
            }
            TransactionControl::Savepoint(_)
            | TransactionControl::Release(_)
            | TransactionControl::RollbackTo(_)
            | TransactionControl::Other => {}
        }
        Outcome::Control
    }

    /// Runs a statement inside the transaction, or in one of its own as autocommit would (the
    /// same thing for one statement); one that cannot run in a transaction block runs bare.
    /// Inside a transaction with seeded rows, under a savepoint, so that a failure the rows
    /// caused can be undone and the statement run again.
    fn run(&mut self, model: &BTreeMap<String, (LockMode, Option<WorkClass>)>, sql: &[String]) -> Outcome {
        let own_transaction = !self.in_transaction;
        if own_transaction {
            if let Err(error) = self.db.execute("BEGIN") {
                return Outcome::Failed(describe(&error));
            }
        }
        let guarded = !own_transaction && !self.seeded.is_empty();
        if guarded {
            if let Err(error) = self.db.execute("SAVEPOINT lockgate_statement") {
                return Outcome::Failed(describe(&error));
            }
        }
        let observed = observe(self.db, sql, true);
        let observed = match observed {
            // 25001: CREATE INDEX CONCURRENTLY, VACUUM, … cannot run in a transaction block.
            Err(error)
                if own_transaction
                    && error.code() == Some(&tokio_postgres::error::SqlState::ACTIVE_SQL_TRANSACTION) =>
            {
                let _ = self.db.execute("ROLLBACK");
                return match observe(self.db, sql, false) {
                    Ok(observation) => traced(model, &observation, false),
                    Err(error) => Outcome::Failed(describe(&error)),
                };
            }
            other => other,
        };
        let outcome = match observed {
            Ok(observation) => traced(model, &observation, true),
            Err(error) => {
                let undo = match (own_transaction, guarded) {
                    (true, _) => "ROLLBACK",
                    (false, true) => "ROLLBACK TO SAVEPOINT lockgate_statement; RELEASE SAVEPOINT lockgate_statement",
                    (false, false) => "",
                };
                if !undo.is_empty() {
                    let _ = self.db.execute(undo);
                }
                return Outcome::Failed(describe(&error));
            }
        };
        if guarded {
            if let Err(error) = self.db.execute("RELEASE SAVEPOINT lockgate_statement") {
                return Outcome::Failed(describe(&error));
            }
        }
        if own_transaction {
            if let Err(error) = self.db.execute("COMMIT") {
                return Outcome::Failed(describe(&error));
            }
        }
        outcome
    }
}

/// Runs the statements between two readings of the server.
fn observe(db: &mut Session, sql: &[String], with_locks: bool) -> Result<Observation, tokio_postgres::Error> {
    let before = if with_locks { Before::read_with_locks(db)? } else { Before::read(db)? };
    before.run(db, sql)
}

/// The statement's outcome: the model and the server side by side, and where they differ.
fn traced(model: &BTreeMap<String, (LockMode, Option<WorkClass>)>, observation: &Observation, locks: bool) -> Outcome {
    let taken = if locks { observation.strongest_taken(false) } else { BTreeMap::new() };
    let existing = observation.existing();
    let indexes = observation.indexes();
    let mut seen = Seen { locks_observed: locks, duration: observation.duration, ..Seen::default() };
    let shown: BTreeSet<&String> = existing.iter().filter(|r| !indexes.contains(*r)).chain(model.keys()).collect();
    for relation in shown {
        let held_before = model.get(relation).filter(|(mode, _)| observation.modes_held_on(relation).contains(mode));
        match (taken.get(relation), held_before) {
            (Some(&mode), Some(&(model_mode, _))) if model_mode > mode => {
                seen.locks.push((relation.clone(), model_mode, true))
            }
            (Some(&mode), _) => seen.locks.push((relation.clone(), mode, false)),
            (None, Some(&(mode, _))) => seen.locks.push((relation.clone(), mode, true)),
            (None, None) => {}
        }
    }
    let mut work_seen = BTreeMap::new();
    // Tables the statement did not touch did catalog-only work, if any: only those it touched
    // and those the model names are looked at closely.
    let touched = observation.touched();
    for table in touched.iter().chain(model.keys().filter(|r| !touched.contains(*r))) {
        if let Some(work) = observation.work_on(table) {
            if work.class == WorkClass::Rewrite {
                seen.rewritten.push(table.clone());
            }
            work_seen.insert(table.clone(), work);
        }
        let scans = observation.scans_of(table);
        if scans.seq_scan > 0 || scans.idx_scan > 0 {
            seen.scans.push((table.clone(), scans));
        }
    }

    let validates_foreign_key = model.values().any(|(_, work)| *work == Some(WorkClass::ValidateForeignKey));
    let mut mismatches = vec![];
    let under = |message: String| Mismatch { under: true, message };
    let over = |message: String| Mismatch { under: false, message };
    for (relation, &(mode, work)) in model {
        if locks {
            let held = observation.modes_held_on(relation);
            // A mode already held before the statement is not listed again: count it as taken.
            let server = taken.get(relation).copied().max(held.contains(&mode).then_some(mode));
            match server {
                Some(server) if server == mode => {}
                Some(server) if server > mode => mismatches
                    .push(under(format!("`{relation}`: the lock model says {mode}, the server took {server}"))),
                Some(server) => mismatches
                    .push(over(format!("`{relation}`: the lock model says {mode}, the server took only {server}"))),
                // `IF EXISTS` of a relation that is not there: nothing to lock, and the model
                // (which cannot always know what exists) named it all the same.
                None if !observation.exists(relation) => {}
                None => mismatches
                    .push(over(format!("`{relation}`: the lock model says {mode}, the server took no lock on it"))),
            }
        }
        let (Some(work), Some(server)) = (work, work_seen.get(relation)) else { continue };
        // Outside a transaction the scan counters are not the statement's own.
        if !locks && server.class != WorkClass::Rewrite {
            continue;
        }
        if consistent(work, server.class, server.no_live_rows, validates_foreign_key) {
            continue;
        }
        let message = format!(
            "`{relation}`: the lock model says {}, the server did {} ({})",
            work.describe(),
            server.class.describe(),
            server.evidence
        );
        mismatches.push(if server.class > work { under(message) } else { over(message) });
    }
    // What the server did to tables the model says nothing about.
    for (relation, &mode) in &taken {
        if model.contains_key(relation) || !existing.contains(relation) || indexes.contains(relation) {
            continue;
        }
        if mode > LockMode::RowExclusive {
            mismatches.push(under(format!(
                "`{relation}`: the lock model says nothing, the server took {mode} ({})",
                mode.blocks()
            )));
        }
    }
    for (relation, work) in &work_seen {
        let heavy = matches!(work.class, WorkClass::Rewrite | WorkClass::IndexBuild);
        if heavy && !model.contains_key(relation) {
            mismatches.push(under(format!(
                "`{relation}`: the lock model says nothing, the server did {} ({})",
                work.class.describe(),
                work.evidence
            )));
        }
    }
    let model =
        model.iter().map(|(relation, &(mode, work))| Predicted { relation: relation.clone(), mode, work }).collect();
    Outcome::Traced { model, seen, mismatches }
}

/// Whether the server's work on a table agrees with the model's, where the counters cannot
/// tell some classes apart.
fn consistent(model: WorkClass, server: WorkClass, no_live_rows: bool, validates_foreign_key: bool) -> bool {
    match (model, server) {
        _ if model == server => true,
        // Without live rows a rewrite's new file is empty, as a TRUNCATE's: nothing tells them
        // apart.
        (WorkClass::Rewrite, WorkClass::Catalog) => no_live_rows,
        // The validation joins the referenced table only for rows whose key is not null: on a
        // few seeded rows the join may never reach it.
        (WorkClass::ValidateForeignKey, WorkClass::Scan) => true,
        // The referenced table of a validation is scanned as its other side; the model puts
        // the work on the referencing table.
        (WorkClass::Catalog, WorkClass::ValidateForeignKey) => validates_foreign_key,
        _ => false,
    }
}

/// The trace's findings, as lint reports them, with the migrations' `lockgate: ignore`
/// comments applied.
fn findings(migrations: &[Migration], statements: &[Traced], config: &Config) -> LintResult {
    let mut result = LintResult { migrations: migrations.len(), ..LintResult::default() };
    let mismatch_rule = rules::find(rules::LOCK_MODEL_MISMATCH).expect("registered");
    let not_traced_rule = rules::find(rules::UNANALYZABLE_OPERATION).expect("registered");
    // Only trace's own rules: an ignore of a lint rule is not unused because trace does not
    // report that rule.
    let active: Vec<(&'static rules::Rule, Severity)> = [mismatch_rule, not_traced_rule]
        .into_iter()
        .filter_map(|rule| config.severity_of(rule.id, rule.severity).map(|s| (rule, s)))
        .collect();
    let mut raw = vec![];
    let mut push = |rule: &'static rules::Rule, traced: &Traced, violation: Violation| {
        let Some(&(_, severity)) = active.iter().find(|(r, _)| r.id == rule.id) else { return };
        let severity = config.severity_override(rule.id).or(violation.severity).unwrap_or(severity);
        let violation = Violation { statement: Some(traced.statement), ..violation };
        raw.push((traced.migration, rule, severity, violation));
    };
    for traced in statements {
        match &traced.outcome {
            Outcome::Traced { mismatches, .. } => {
                result.statements_analyzed += 1;
                for mismatch in mismatches {
                    let severity = if mismatch.under { Severity::Error } else { Severity::Warning };
                    let help = if mismatch.under {
                        "the server did more than lint reports for this statement: judge it by what the server did, and report the statement form to lockgate"
                    } else {
                        "the server did less than lint predicts: the finding lint gives here may be stricter than needed; report the statement form to lockgate"
                    };
                    let violation = Violation::at(traced.span, mismatch.message.clone(), help).with_severity(severity);
                    push(mismatch_rule, traced, violation);
                }
            }
            Outcome::NotTraced(why) => {
                result.statements_unanalyzed += 1;
                let violation = Violation::at(
                    traced.span,
                    format!("not traced: {why}"),
                    "trace cannot run it, so what it locks is not known; review it by hand",
                );
                push(not_traced_rule, traced, violation);
            }
            Outcome::Control => {}
            Outcome::Failed(_) | Outcome::NotReached => result.statements_unanalyzed += 1,
        }
    }
    let reported = vec![true; migrations.len()];
    let (findings, suppressed) = analysis::apply_ignores(migrations, raw, &active, &reported);
    result.findings = findings;
    result.suppressed = suppressed;
    result.findings.sort_by_key(|f| (f.migration, f.span.start));
    result
}

#[cfg(test)]
mod tests {
    use super::consistent;
    use super::observe::WorkClass::*;

    #[test]
    fn work_classes_the_counters_cannot_tell_apart_agree() {
        assert!(consistent(Rewrite, Rewrite, false, false));
        // A new file for an empty table: a rewrite or a TRUNCATE, only on an empty table.
        assert!(consistent(Rewrite, Catalog, true, false));
        assert!(!consistent(Rewrite, Catalog, false, false));
        // The join of a validation need not reach the referenced table.
        assert!(consistent(ValidateForeignKey, Scan, false, false));
        // The referenced table's side of a validation the model puts on the other table.
        assert!(consistent(Catalog, ValidateForeignKey, false, true));
        assert!(!consistent(Catalog, ValidateForeignKey, false, false));
        // What the model misses is never excused.
        assert!(!consistent(Catalog, Rewrite, true, true));
        assert!(!consistent(Scan, IndexBuild, false, false));
        assert!(!consistent(Scan, Catalog, false, false));
    }
}
