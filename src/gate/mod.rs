//! The pre-deploy gate: the pending migrations replayed on the live schema, each statement's
//! locks and estimated hold time from the live sizes, the sessions that would block it now,
//! and a tier for every migration — `run` in the pipeline, `off-peak`, `batch` apart from the
//! deploy, `blocked` right now, or `unsafe` (lint errors).

pub mod report;

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::{self, ReplayStep, Visitor};
use crate::config::{CheckConfig, Config};
use crate::estimate::{self, Duration, Profile};
use crate::ir::{Framework, Migration, OpKind, QualifiedName, TransactionControl};
use crate::live::activity::{Activity, Backend};
use crate::live::schema::TableStats;
use crate::live::Observation;
use crate::locks::Work;
use crate::postgres::LockMode;
use crate::rules::{Cost, Severity};
use crate::units;

/// Where a migration may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Run,
    OffPeak,
    Batch,
    Blocked,
    Unsafe,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Run => "run",
            Verdict::OffPeak => "off-peak",
            Verdict::Batch => "batch",
            Verdict::Blocked => "blocked",
            Verdict::Unsafe => "unsafe",
        }
    }

    /// The process exit code a pipeline branches on (documented in the README).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Run => 0,
            Verdict::Unsafe => 1,
            Verdict::Blocked => 3,
            Verdict::OffPeak => 4,
            Verdict::Batch => 5,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LockReport {
    pub relation: String,
    pub mode: LockMode,
    pub work: Work,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    pub line: usize,
    pub column: usize,
    /// The statement's first line, shortened.
    pub text: String,
    pub locks: Vec<LockReport>,
    /// Rows its work reads or changes (0 for catalog-only work).
    pub rows: u64,
    /// Its own running time.
    pub duration: Duration,
    /// How long the locks it takes are held: to the end of its transaction.
    pub hold: Duration,
    pub in_transaction: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockerReport {
    pub pid: i32,
    pub state: String,
    pub backend_type: String,
    pub transaction_age_s: f64,
    pub query: String,
    /// What it holds or waits for, and what of ours it would stop.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingSummary {
    pub rule: &'static str,
    pub severity: Severity,
    pub line: usize,
    pub message: String,
    /// Its hazard is work that grows with the table, so the live size decides it.
    pub size_dependent: bool,
    /// For a size-dependent finding: the work at today's size and what that makes of it.
    pub at_this_size: Option<String>,
    /// It makes the migration `unsafe`.
    pub blocks: bool,
    #[serde(skip)]
    cost: Cost,
    #[serde(skip)]
    statement: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub id: String,
    pub path: String,
    pub framework: Framework,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The most rows any of its statements reads or changes on an existing table.
    pub rows: u64,
    /// The longest estimated ACCESS EXCLUSIVE hold on an existing table, expected case.
    pub max_exclusive_hold_ms: f64,
    pub duration: Duration,
    pub statements: Vec<StatementReport>,
    pub blockers: Vec<BlockerReport>,
    pub findings: Vec<FindingSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    /// The database URL with its password masked, or the statistics file.
    pub database: String,
    pub server_version: String,
    pub observed_at: String,
    /// `live`, or `stats-file` (no sessions were checked).
    pub source: &'static str,
    pub migrations_read: usize,
    pub applied: usize,
    pub migrations: Vec<MigrationReport>,
    pub notes: Vec<String>,
    pub verdict: Verdict,
}

impl CheckReport {
    pub const SCHEMA_VERSION: u32 = 1;

    pub fn count(&self, verdict: Verdict) -> usize {
        self.migrations.iter().filter(|m| m.verdict == verdict).count()
    }
}

/// What the gate judges against.
pub struct DatabaseState<'a> {
    pub observation: &'a Observation,
    /// `None` when judging from a statistics file.
    pub activity: Option<&'a Activity>,
    pub database: String,
    pub profile: &'a Profile,
}

/// Judges `migrations` (all read, in runner order); `all` ignores the history tables.
pub fn check(migrations: Vec<Migration>, config: &Config, target: &DatabaseState, all: bool) -> CheckReport {
    let observation = target.observation;
    let mut notes = vec![];
    let read = migrations.len();
    let pending_flags = pending(&migrations, observation, all);
    if !all {
        note_history(&migrations, observation, &mut notes);
    }
    let pending: Vec<Migration> =
        migrations.into_iter().zip(&pending_flags).filter(|(_, p)| **p).map(|(m, _)| m).collect();
    let live = observation.catalog();
    let mut config = config.clone();
    config.pg_version = Some(observation.server.major().clamp(11, 18));
    let lint = analysis::lint_on(&pending, &config, live.clone(), &analysis::Reporting::all(pending.len(), true));

    let stats = observation.schema.stats_by_table();
    let lookup = |table: &QualifiedName| stats.get(table).cloned();
    let mut estimator = Estimator {
        profile: target.profile,
        stats: &lookup,
        parallel: observation.server.max_parallel_maintenance_workers > 0,
        migrations: vec![],
        segment: 0,
    };
    analysis::replay(&pending, live, config.pg_version(), &mut estimator);

    let mut reports = vec![];
    for (index, (migration, statements)) in pending.iter().zip(estimator.migrations).enumerate() {
        let findings: Vec<FindingSummary> = lint
            .findings
            .iter()
            .filter(|f| f.migration == index && f.severity >= Severity::Warning)
            .map(|f| FindingSummary {
                rule: f.rule,
                severity: f.severity,
                line: f.source.line_col(f.span.start).0,
                message: f.message.clone(),
                size_dependent: matches!(f.cost, Cost::Work { .. }),
                at_this_size: None,
                blocks: false,
                cost: f.cost.clone(),
                statement: f.statement,
            })
            .collect();
        reports.push(judge(migration, statements, findings, target, &config.check, &stats));
    }
    if target.activity.is_none() {
        notes.push("judged from a statistics file: sessions that could block were not checked".into());
    }
    if let Some(activity) = target.activity {
        for replica in &activity.replicas {
            if let Some(lag) = replica.replay_lag_s.filter(|lag| *lag > 5.0) {
                notes.push(format!(
                    "replica `{}` is {lag:.0} s behind: batched backfills would add to its lag",
                    replica.name
                ));
            }
        }
    }
    let verdict = reports.iter().map(|r| r.verdict).max().unwrap_or(Verdict::Run);
    CheckReport {
        schema_version: CheckReport::SCHEMA_VERSION,
        database: target.database.clone(),
        server_version: observation.server.version.clone(),
        observed_at: observation.observed_at.clone(),
        source: if target.activity.is_some() { "live" } else { "stats-file" },
        migrations_read: read,
        applied: read - pending.len(),
        migrations: reports,
        notes,
        verdict,
    }
}

/// Which migrations (in runner order) have not run: all of them with `all`, else those the
/// history tables do not record.
pub fn pending(migrations: &[Migration], observation: &Observation, all: bool) -> Vec<bool> {
    if all {
        vec![true; migrations.len()]
    } else {
        observation.history.pending(migrations)
    }
}

/// Says which history tables decided what is pending, and what looks wrong with them.
fn note_history(migrations: &[Migration], observation: &Observation, notes: &mut Vec<String>) {
    let history = &observation.history;
    for framework in [Framework::Sql, Framework::Django, Framework::Alembic] {
        if !migrations.iter().any(|m| m.framework == framework) {
            continue;
        }
        let tables: Vec<String> = history.for_framework(framework).map(|t| t.table.clone()).collect();
        if tables.is_empty() {
            notes.push(format!(
                "no {} history table in the database: every {} migration is treated as pending",
                framework_name(framework),
                framework_name(framework)
            ));
        }
    }
    for table in history.tables.iter().filter(|t| t.dirty) {
        notes.push(format!(
            "{} is marked dirty: the last migration failed halfway; fix the schema and the version before deploying",
            table.table
        ));
    }
    for head in history.unknown_alembic_heads(migrations) {
        notes.push(format!(
            "alembic_version names revision `{head}`, which is not among the files read: the database is ahead of this checkout"
        ));
    }
}

fn framework_name(framework: Framework) -> &'static str {
    match framework {
        Framework::Sql => "SQL",
        Framework::Django => "Django",
        Framework::Alembic => "Alembic",
    }
}

/// One statement as the replay saw it, before hold times are known.
struct Seen {
    report: StatementReport,
    /// Its index in the migration (`Op::statement`).
    statement: usize,
    /// Statements with the same segment run in one transaction.
    segment: usize,
    /// Relations it locks that exist in the database (not created by a pending migration).
    existing: Vec<(QualifiedName, LockMode, Work)>,
    /// Relations it locks that a pending migration created: still empty when it runs.
    created: Vec<QualifiedName>,
}

/// Collects per statement its locks, rows and own duration.
struct Estimator<'a> {
    profile: &'a Profile,
    stats: &'a dyn Fn(&QualifiedName) -> Option<TableStats>,
    parallel: bool,
    migrations: Vec<Vec<Seen>>,
    segment: usize,
}

impl Visitor for Estimator<'_> {
    fn op(&mut self, step: &ReplayStep) {
        if step.position == 0 {
            self.migrations.push(vec![]);
        }
        let inputs = estimate::EstimateInputs {
            profile: self.profile,
            catalog: step.catalog,
            stats: self.stats,
            parallel_maintenance: self.parallel,
        };
        let op = step.op;
        if step.first_in_statement {
            let control = match &op.kind {
                OpKind::Transaction(control) => Some(control.clone()),
                _ => None,
            };
            if control == Some(TransactionControl::Begin) || !step.transaction.in_transaction {
                self.segment += 1;
            }
            let (line, column) = step.migration.source.line_col(op.span.start);
            let text = step.migration.source.text.get(op.span.start..op.span.end).unwrap_or_default();
            self.migrations.last_mut().expect("pushed at position 0").push(Seen {
                report: StatementReport {
                    line,
                    column,
                    text: first_line(text),
                    locks: vec![],
                    rows: 0,
                    duration: Duration::default(),
                    hold: Duration::default(),
                    in_transaction: step.transaction.in_transaction,
                },
                statement: op.statement,
                segment: self.segment,
                existing: vec![],
                created: vec![],
            });
            if matches!(control, Some(TransactionControl::Commit | TransactionControl::Rollback)) {
                self.segment += 1;
            }
        }
        let seen = self.migrations.last_mut().and_then(|m| m.last_mut()).expect("a statement was started");
        let mut work_ms = 0.0;
        for effect in step.effects {
            let repeated_rewrite = effect.work == Work::Rewrite
                && seen
                    .report
                    .locks
                    .iter()
                    .any(|l| l.work == Work::Rewrite && l.relation == effect.relation.to_string());
            if !repeated_rewrite {
                work_ms += inputs.work_ms(&op.kind, effect);
            }
            seen.report.rows = seen.report.rows.max(inputs.rows_touched(&op.kind, effect));
            seen.report.locks.push(LockReport {
                relation: effect.relation.to_string(),
                mode: effect.mode,
                work: effect.work,
            });
            let exists = step.catalog.table(&effect.relation).is_some_and(|t| t.origin.is_none())
                && (self.stats)(&effect.relation).is_some();
            if exists {
                seen.existing.push((effect.relation.clone(), effect.mode, effect.work));
            } else if step.catalog.table(&effect.relation).is_some_and(|t| t.origin.is_some()) {
                seen.created.push(effect.relation.clone());
            }
        }
        let catalog_ms =
            if step.first_in_statement && !step.effects.is_empty() { self.profile.catalog_ms } else { 0.0 };
        seen.report.duration = seen.report.duration.plus(Duration::around(work_ms + catalog_ms));
    }

    fn end_of_migration(
        &mut self,
        _index: usize,
        migration: &Migration,
        _: &crate::replay::transaction::TransactionState,
        _: &crate::catalog::Catalog,
    ) {
        if migration.ops.is_empty() {
            self.migrations.push(vec![]);
        }
        let statements = self.migrations.last_mut().expect("one entry per migration");
        // Locks are held until the transaction ends: a statement's hold is its own time plus
        // that of every later statement in the same transaction.
        let mut tail: HashMap<usize, Duration> = HashMap::new();
        for seen in statements.iter_mut().rev() {
            let after = tail.get(&seen.segment).copied().unwrap_or_default();
            seen.report.hold = after.plus(seen.report.duration);
            tail.insert(seen.segment, seen.report.hold);
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--")).unwrap_or_default();
    match line.char_indices().nth(72) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// Places one migration in its tier.
fn judge(
    migration: &Migration,
    statements: Vec<Seen>,
    mut findings: Vec<FindingSummary>,
    target: &DatabaseState,
    policy: &CheckConfig,
    stats: &HashMap<QualifiedName, TableStats>,
) -> MigrationReport {
    let mut reasons = vec![];
    let mut verdict = Verdict::Run;
    let mut raise = |to: Verdict, reason: String, reasons: &mut Vec<String>| {
        verdict = verdict.max(to);
        reasons.push(reason);
    };
    let exclusive = statements
        .iter()
        .filter(|s| s.existing.iter().any(|(_, mode, _)| *mode == LockMode::AccessExclusive))
        .max_by(|a, b| a.report.hold.expected_ms.total_cmp(&b.report.hold.expected_ms));
    let max_exclusive_hold_ms = exclusive.map_or(0.0, |s| s.report.hold.expected_ms);

    for finding in findings.iter_mut().filter(|f| f.severity == Severity::Error) {
        let weighed = if policy.strict { None } else { weigh(finding, &statements, max_exclusive_hold_ms, policy) };
        finding.blocks = !matches!(weighed, Some(Weighed::Fine(_)));
        finding.at_this_size = weighed.map(|w| match w {
            Weighed::Fine(context) => format!("{context}: fine at this size"),
            Weighed::TooBig(context) => context,
        });
    }
    let errors: Vec<&FindingSummary> = findings.iter().filter(|f| f.blocks).collect();
    if !errors.is_empty() {
        let list: Vec<String> = errors
            .iter()
            .map(|f| match &f.at_this_size {
                Some(context) => format!("{} (line {}: {context})", f.rule, f.line),
                None => format!("{} (line {})", f.rule, f.line),
            })
            .collect();
        raise(Verdict::Unsafe, format!("lint errors: {}", list.join(", ")), &mut reasons);
    }
    let blockers = target.activity.map(|a| blockers(&statements, a, policy)).unwrap_or_default();
    if let Some(first) = blockers.first() {
        let more = if blockers.len() > 1 { format!(" (and {} more)", blockers.len() - 1) } else { String::new() };
        raise(Verdict::Blocked, format!("pid {} {}{more}", first.pid, first.reason), &mut reasons);
    }

    let rows = statements.iter().filter(|s| !s.existing.is_empty()).map(|s| s.report.rows).max().unwrap_or(0);
    if max_exclusive_hold_ms > policy.max_exclusive_hold_ms as f64 {
        let statement = exclusive.expect("a hold was found");
        let table = statement.existing.iter().find(|(_, m, _)| *m == LockMode::AccessExclusive).map(|(t, _, _)| t);
        raise(
            Verdict::Batch,
            format!(
                "ACCESS EXCLUSIVE on {} held ~{} (line {}), over the {} bound: every query on it waits that long",
                table.map(ToString::to_string).unwrap_or_default(),
                units::seconds(max_exclusive_hold_ms),
                statement.report.line,
                units::seconds(policy.max_exclusive_hold_ms as f64)
            ),
            &mut reasons,
        );
    }
    if rows > policy.off_peak_max_rows {
        raise(
            Verdict::Batch,
            format!(
                "touches {} rows (over {}): run it as a batched job apart from the deploy",
                units::count(rows),
                units::count(policy.off_peak_max_rows)
            ),
            &mut reasons,
        );
    } else if rows >= policy.pipeline_max_rows {
        raise(
            Verdict::OffPeak,
            format!(
                "touches {} rows ({}–{}): run it in an off-peak window",
                units::count(rows),
                units::count(policy.pipeline_max_rows),
                units::count(policy.off_peak_max_rows)
            ),
            &mut reasons,
        );
    }
    if verdict == Verdict::Run {
        reasons.push(run_reason(&statements, stats));
    }
    let duration = statements.iter().fold(Duration::default(), |sum, s| sum.plus(s.report.duration));
    MigrationReport {
        id: migration.id.clone(),
        path: migration.source.display_path().to_string(),
        framework: migration.framework,
        verdict,
        reasons,
        rows,
        max_exclusive_hold_ms,
        duration,
        statements: statements.into_iter().map(|s| s.report).collect(),
        blockers,
        findings,
    }
}

/// What today's size makes of a size-dependent lint error.
enum Weighed {
    /// Under the pipeline's row bound and every exclusive hold under its bound.
    Fine(String),
    /// Over a bound (or of unknown size): it stays an error, with the estimate as the reason.
    TooBig(String),
}

/// Weighs a size-dependent error by its statement's estimate; `None` for one whose hazard does
/// not depend on the size.
fn weigh(
    finding: &FindingSummary,
    statements: &[Seen],
    max_exclusive_hold_ms: f64,
    policy: &CheckConfig,
) -> Option<Weighed> {
    let Cost::Work { table, work } = &finding.cost else { return None };
    let seen = statements.iter().find(|s| Some(s.statement) == finding.statement)?;
    let known = seen.existing.iter().any(|(t, _, _)| t == table);
    let created = seen.created.contains(table);
    let context = format!(
        "{} of {} rows on {table}, ~{}",
        report::work_name(*work),
        units::count(seen.report.rows),
        units::seconds(seen.report.hold.expected_ms)
    );
    Some(if !known && !created {
        Weighed::TooBig(format!("{context}; the size of {table} is unknown"))
    } else if seen.report.rows >= policy.pipeline_max_rows {
        Weighed::TooBig(format!("{context}: over the {}-row pipeline bound", units::count(policy.pipeline_max_rows)))
    } else if max_exclusive_hold_ms > policy.max_exclusive_hold_ms as f64 {
        Weighed::TooBig(format!(
            "{context}, but the migration holds ACCESS EXCLUSIVE ~{}, over the {} bound",
            units::seconds(max_exclusive_hold_ms),
            units::seconds(policy.max_exclusive_hold_ms as f64)
        ))
    } else {
        Weighed::Fine(context)
    })
}

fn run_reason(statements: &[Seen], stats: &HashMap<QualifiedName, TableStats>) -> String {
    let existing = statements.iter().flat_map(|s| &s.existing).filter(|(t, _, _)| stats.contains_key(t)).count();
    if existing == 0 {
        "only new or empty tables: nothing to wait for".into()
    } else {
        "small or catalog-only changes: fits in the deploy".into()
    }
}

/// Sessions that hold (or queue for) a lock that conflicts with one the migration takes on
/// an existing table, or — for concurrent index builds — any old open snapshot.
fn blockers(statements: &[Seen], activity: &Activity, policy: &CheckConfig) -> Vec<BlockerReport> {
    let old_enough = |b: &Backend| {
        b.state.starts_with("idle in transaction") || b.transaction_age_s * 1000.0 >= policy.blocker_min_age_ms as f64
    };
    let mut found: Vec<BlockerReport> = vec![];
    let existing: Vec<&(QualifiedName, LockMode, Work)> = statements.iter().flat_map(|s| &s.existing).collect();
    let waits_for_snapshots =
        existing.iter().any(|(_, _, work)| matches!(work, Work::ConcurrentIndexBuild | Work::WaitForTransactions));
    for backend in activity.backends.iter().filter(|b| old_enough(b)) {
        let conflict = existing.iter().find_map(|(table, mode, _)| {
            let (_, lock) = activity.conflicting(table, *mode).find(|(b, _)| b.pid == backend.pid)?;
            let held = if lock.granted { "holds" } else { "is queued for" };
            Some(format!("{held} {} on {table}, which conflicts with the migration's {mode}", lock.mode))
        });
        let reason = conflict.or_else(|| {
            (waits_for_snapshots && backend.holds_snapshot)
                .then(|| "has an open snapshot: a concurrent index build waits until it ends".to_string())
        });
        if let Some(reason) = reason {
            let wraparound =
                if backend.wraparound_vacuum { " (autovacuum to prevent wraparound: it will not yield)" } else { "" };
            found.push(BlockerReport {
                pid: backend.pid,
                state: backend.state.clone(),
                backend_type: backend.backend_type.clone(),
                transaction_age_s: backend.transaction_age_s,
                query: backend.query.clone(),
                reason: format!(
                    "({}, transaction open {}) {reason}{wraparound}",
                    backend.state,
                    units::seconds(backend.transaction_age_s * 1000.0)
                ),
            });
        }
    }
    found
}
