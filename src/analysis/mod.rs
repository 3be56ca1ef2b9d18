//! The lint pass: replay every migration in order, run the rules on each op against the schema
//! as it was just before it, then apply suppressions.

mod unpopulated;

use foldhash::{HashSet, HashSetExt};

use crate::catalog::{Catalog, Origin};
use crate::config::Config;
use crate::ir::{Migration, Op, OpKind, TransactionControl};
use crate::locks::{self, LockEffect};
use crate::postgres::PgVersion;
use crate::replay::transaction::TransactionState;
use crate::replay::Settings;
use crate::rules::{self, Finding, OpContext, Rule, Severity, Violation};
use unpopulated::Unpopulated;

/// What a lint run found, and how much of the input it could analyze.
#[derive(Debug, Default)]
pub struct LintResult {
    pub findings: Vec<Finding>,
    pub migrations: usize,
    pub statements_analyzed: usize,
    pub statements_unanalyzed: usize,
    pub meta_commands_skipped: usize,
    /// Uses of psql variables substituted with their `\set` values.
    pub psql_variables_substituted: usize,
    /// Template expressions (`{{ … }}`) read as names.
    pub templates_substituted: usize,
    pub suppressed: usize,
    /// Migrations replayed for their schema but not reported on.
    pub replayed_only: usize,
    /// The frameworks and layouts the migrations were read as; empty when not from files.
    pub recognised: crate::source::Recognised,
}

impl LintResult {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

/// Which migrations a run reports on, and which of them no deploy has run yet.
pub struct Reporting {
    /// Reported (`--diff`, `--staged`, `--since` narrow it); the rest are replayed only.
    pub reported: Vec<bool>,
    /// Part of the release under review — added by the change, or pending on the live
    /// database — so the tables they create are still empty for the migrations after them.
    pub unreleased: Vec<bool>,
}

impl Reporting {
    /// Every migration reported; `unreleased` says whether none has been deployed.
    pub fn all(count: usize, unreleased: bool) -> Self {
        Reporting { reported: vec![true; count], unreleased: vec![unreleased; count] }
    }
}

/// Lints migrations replayed on top of `catalog`: the schema of a live database, or nothing.
/// Every migration is replayed, so rules see the schema the whole history built; only those
/// `reporting` names are reported.
pub fn lint_on(migrations: &[Migration], config: &Config, catalog: Catalog, reporting: &Reporting) -> LintResult {
    let mut linting = Linting::new(config, catalog);
    for migration in migrations {
        linting.add(migration);
    }
    linting.finish(migrations, reporting)
}

/// A lint in progress: migrations are added in runner order as they are loaded, each replayed
/// and checked at once, so the replay overlaps the loading of the files after it.
pub struct Linting<'c> {
    config: &'c Config,
    settings: Settings,
    active: Vec<(&'static Rule, Severity)>,
    replay: Replay,
    raw: Vec<RawFinding>,
    coverage: Vec<Coverage>,
}

/// What one migration's statements were: analyzed, not analyzed, skipped meta-commands.
struct Coverage {
    analyzed: usize,
    unanalyzed: usize,
    meta_commands: usize,
    psql_variables: usize,
    templates: usize,
}

impl<'c> Linting<'c> {
    pub fn new(config: &'c Config, catalog: Catalog) -> Self {
        let settings = settings(config);
        let active = rules::REGISTRY
            .iter()
            .filter_map(|rule| config.severity_of(rule.id, rule.severity).map(|s| (*rule, s)))
            .collect();
        let mut replay = Replay::new(catalog, settings.pg_version);
        replay.runner_session = settings.runner_session.clone();
        Linting { config, settings, active, replay, raw: vec![], coverage: vec![] }
    }

    /// Replays the next migration and runs the rules on it.
    pub fn add(&mut self, migration: &Migration) {
        let mut linter = Linter {
            active: &self.active,
            settings: &self.settings,
            raw: &mut self.raw,
            statements: HashSet::new(),
            unanalyzed: HashSet::new(),
        };
        self.replay.migration(migration, &mut linter);
        let unanalyzed = linter.unanalyzed.len();
        self.coverage.push(Coverage {
            analyzed: linter.statements.len() - unanalyzed,
            unanalyzed,
            meta_commands: migration.skipped_meta_commands,
            psql_variables: migration.psql_variables,
            templates: migration.templates,
        });
    }

    /// The findings on the migrations `reporting` names, once all were added.
    pub fn finish(self, migrations: &[Migration], reporting: &Reporting) -> LintResult {
        let Linting { config, active, replay, mut raw, coverage, .. } = self;
        let catalog = replay.into_catalog();
        let reported = &reporting.reported;
        for (rule, severity) in &active {
            if let Some(end) = rule.end_of_run {
                let mut out = vec![];
                end(&catalog, migrations, &mut out);
                raw.extend(out.into_iter().map(|(i, v)| (i, *rule, *severity, v)));
            }
        }
        raw.retain(|(index, ..)| reported[*index]);
        for (_, rule, severity, violation) in &mut raw {
            *severity = match (config.severity_override(rule.id), violation.severity) {
                (Some(configured), _) => configured,
                (None, Some(case)) => case,
                (None, None) => *severity,
            };
        }
        // A finding about a table certainly empty where it runs is a note saying why, whatever
        // the configured severity: the hazard it names cannot happen there.
        let unpopulated = Unpopulated::new(migrations, &reporting.unreleased);
        for (index, _, severity, violation) in &mut raw {
            if let Some(why) = violation.nil_work.take().or_else(|| unpopulated.why_empty(*index, violation)) {
                *severity = Severity::Info;
                violation.message = format!("{} — {why}", violation.message);
            }
        }
        let count = reported.iter().filter(|r| **r).count();
        let mut result =
            LintResult { migrations: count, replayed_only: migrations.len() - count, ..Default::default() };
        for (coverage, _) in coverage.iter().zip(reported).filter(|(_, reported)| **reported) {
            result.statements_analyzed += coverage.analyzed;
            result.statements_unanalyzed += coverage.unanalyzed;
            result.meta_commands_skipped += coverage.meta_commands;
            result.psql_variables_substituted += coverage.psql_variables;
            result.templates_substituted += coverage.templates;
        }
        let (findings, suppressed) = apply_ignores(migrations, raw, &active, reported);
        result.findings = findings;
        result.suppressed = suppressed;
        // Sorted by key, then put in place with one swap each: a finding is large, and sorting
        // them directly moved each one many times over.
        result.findings.sort_by_cached_key(|f| (f.migration, f.span.start, f.rule));
        result
    }
}

/// One op as the replay reaches it, with the schema and transaction just before it runs.
pub struct ReplayStep<'a> {
    pub migration_index: usize,
    pub migration: &'a Migration,
    pub position: usize,
    pub op: &'a Op,
    pub catalog: &'a Catalog,
    pub effects: &'a [LockEffect],
    pub transaction: &'a TransactionState,
    pub first_in_statement: bool,
}

/// What watches a replay: the linter, the gate's estimator.
pub trait Visitor {
    fn op(&mut self, step: &ReplayStep);
    /// After the last op of a migration; `catalog` is the schema the migration leaves.
    fn end_of_migration(
        &mut self,
        _index: usize,
        _migration: &Migration,
        _transaction: &TransactionState,
        _catalog: &Catalog,
    ) {
    }
}

/// Replays migrations in order on top of `catalog`, showing each op to the visitor before it is
/// applied; returns the schema the migrations leave.
pub fn replay(migrations: &[Migration], catalog: Catalog, pg: PgVersion, visitor: &mut impl Visitor) -> Catalog {
    let mut replay = Replay::new(catalog, pg);
    for migration in migrations {
        replay.migration(migration, visitor);
    }
    replay.into_catalog()
}

/// A replay in progress: the schema so far, and the index of the next migration.
struct Replay {
    catalog: Catalog,
    pg: PgVersion,
    next: usize,
    /// Settings in force at the start of every migration, before its own session settings.
    runner_session: Vec<(String, String)>,
}

impl Replay {
    fn new(catalog: Catalog, pg: PgVersion) -> Self {
        Replay { catalog, pg, next: 0, runner_session: vec![] }
    }

    fn migration(&mut self, migration: &Migration, visitor: &mut impl Visitor) {
        let index = self.next;
        self.next += 1;
        let catalog = &mut self.catalog;
        catalog.start_session();
        let mut tx = TransactionState::start(migration, &self.runner_session);
        // A ROLLBACK (TO SAVEPOINT) undoes schema changes: the schema at the start of the
        // transaction and at each savepoint is kept to go back to, only in migrations that roll
        // back at all (each is a copy of the schema).
        let rolls_back = migration.ops.iter().any(|op| {
            matches!(op.kind, OpKind::Transaction(TransactionControl::Rollback | TransactionControl::RollbackTo(_)))
        });
        let mut undo = UndoPoints::default();
        if rolls_back && tx.in_transaction {
            undo.begin(catalog);
        }
        let mut previous_statement = None;
        for (position, op) in migration.ops.iter().enumerate() {
            let first_in_statement = previous_statement != Some(op.statement);
            previous_statement = Some(op.statement);
            tx.begin_statement(op.statement);
            let effects = locks::effects(&op.kind, catalog, self.pg);
            visitor.op(&ReplayStep {
                migration_index: index,
                migration,
                position,
                op,
                catalog,
                effects: &effects,
                transaction: &tx,
                first_in_statement,
            });
            let was_in_transaction = tx.in_transaction;
            tx.after(op, &effects, |table| !catalog.created_in(table, index) && !rules::creates(&op.kind, table));
            catalog.apply(&op.kind, Origin { migration: index, statement: op.statement });
            if let OpKind::Transaction(control) = &op.kind {
                if rolls_back {
                    undo.after(control, was_in_transaction, catalog);
                }
            }
        }
        visitor.end_of_migration(index, migration, &tx, catalog);
    }

    fn into_catalog(self) -> Catalog {
        self.catalog
    }
}

/// The schemas a rollback can return to: the one at the start of the open transaction, then
/// one per savepoint, by name.
#[derive(Default)]
struct UndoPoints {
    points: Vec<(Option<String>, Catalog)>,
}

impl UndoPoints {
    fn begin(&mut self, catalog: &Catalog) {
        self.points = vec![(None, catalog.clone())];
    }

    /// Follows a transaction-control statement: keeps, drops or goes back to an undo point.
    fn after(&mut self, control: &TransactionControl, was_in_transaction: bool, catalog: &mut Catalog) {
        let named = |points: &[(Option<String>, Catalog)], name: &str| {
            points.iter().rposition(|(point, _)| point.as_deref() == Some(name))
        };
        match control {
            TransactionControl::Begin if !was_in_transaction => self.begin(catalog),
            TransactionControl::Savepoint(name) if was_in_transaction => {
                self.points.push((Some(name.clone()), catalog.clone()));
            }
            TransactionControl::Release(name) => {
                if let Some(at) = named(&self.points, name) {
                    self.points.truncate(at);
                }
            }
            // The savepoint stays, to be rolled back to again.
            TransactionControl::RollbackTo(name) => {
                if let Some(at) = named(&self.points, name) {
                    catalog.clone_from(&self.points[at].1);
                    self.points.truncate(at + 1);
                }
            }
            TransactionControl::Rollback => {
                if let Some((None, before)) = self.points.first() {
                    catalog.clone_from(before);
                }
                self.points.clear();
            }
            TransactionControl::Commit => self.points.clear(),
            _ => {}
        }
    }
}

pub(crate) type RawFinding = (usize, &'static Rule, Severity, Violation);

/// Runs the active rules on one migration's ops and notes its statements.
struct Linter<'a> {
    active: &'a [(&'static Rule, Severity)],
    settings: &'a Settings,
    raw: &'a mut Vec<RawFinding>,
    /// Statement numbers of the migration, and those not analyzed.
    statements: HashSet<usize>,
    unanalyzed: HashSet<usize>,
}

impl Visitor for Linter<'_> {
    fn op(&mut self, step: &ReplayStep) {
        let index = step.migration_index;
        let op = step.op;
        self.statements.insert(op.statement);
        if matches!(op.kind, OpKind::Unparsed { .. } | OpKind::Opaque { .. }) {
            self.unanalyzed.insert(op.statement);
        }
        let context = OpContext {
            op,
            migration: step.migration,
            migration_index: index,
            catalog: step.catalog,
            effects: step.effects,
            transaction: step.transaction,
            settings: self.settings,
            first_in_statement: step.first_in_statement,
            position: step.position,
        };
        // One buffer for all the rules: most find nothing, and each empty `Vec` still costs
        // its setup and a pass of the loop that moves its findings on.
        let mut out = vec![];
        for (rule, severity) in self.active {
            if let Some(check) = rule.check {
                check(&context, &mut out);
                if !out.is_empty() {
                    self.raw.extend(out.drain(..).map(|mut v| {
                        v.nil_work = context.nil_work(&v);
                        (index, *rule, *severity, v)
                    }));
                }
            }
        }
    }

    fn end_of_migration(&mut self, index: usize, migration: &Migration, transaction: &TransactionState, _: &Catalog) {
        for (rule, severity) in self.active {
            if let Some(end) = rule.end_of_migration {
                let mut out = vec![];
                end(migration, transaction, &mut out);
                self.raw.extend(out.into_iter().map(|v| (index, *rule, *severity, v)));
            }
        }
    }
}

/// Drops findings covered by inline ignores, and reports ignores that covered nothing and
/// malformed directives — under the `active` rules only, so a caller that runs fewer rules
/// (trace) does not call an ignore of another rule unused.
pub(crate) fn apply_ignores(
    migrations: &[Migration],
    raw: Vec<RawFinding>,
    active: &[(&'static Rule, Severity)],
    reported: &[bool],
) -> (Vec<Finding>, usize) {
    let mut used: HashSet<(usize, usize, usize)> = HashSet::new();
    let mut findings = vec![];
    let mut suppressed = 0;
    for (index, rule, severity, violation) in raw {
        let migration = &migrations[index];
        let statement = violation.statement;
        let covering = migration.ignores.iter().enumerate().find_map(|(i, ignore)| {
            let applies = ignore.statement.is_none() || (statement.is_some() && ignore.statement == statement);
            let names = ignore.rules.iter().position(|r| r == rule.id || r == "all");
            names.filter(|_| applies).map(|n| (i, n))
        });
        match covering {
            Some((ignore, name)) => {
                used.insert((index, ignore, name));
                suppressed += 1;
            }
            None => findings.push(Finding::new(rule, severity, index, migration, violation)),
        }
    }
    let severity_of = |id: &str| active.iter().find(|(r, _)| r.id == id).map(|(r, s)| (*r, *s));
    for (index, migration) in migrations.iter().enumerate().filter(|(i, _)| reported[*i]) {
        if let Some((rule, severity)) = severity_of(rules::UNUSED_IGNORE) {
            for (i, ignore) in migration.ignores.iter().enumerate() {
                for (n, name) in ignore.rules.iter().enumerate() {
                    if used.contains(&(index, i, n)) {
                        continue;
                    }
                    let message = if rules::find(name).is_none() && name != "all" {
                        format!("`{name}` is not a lockgate rule, so this ignore suppresses nothing")
                    } else {
                        format!("this ignore of `{name}` suppresses nothing; remove it")
                    };
                    let violation = Violation::at(
                        ignore.span,
                        message,
                        "delete the ignore, or fix the rule id (`lockgate rules` lists them)",
                    );
                    findings.push(Finding::new(rule, severity, index, migration, violation));
                }
            }
        }
        for problem in &migration.problems {
            if let Some((rule, severity)) = severity_of(rules::problem_rule(problem.kind)) {
                let violation = Violation::at(problem.span, problem.message.clone(), problem.help.clone());
                findings.push(Finding::new(rule, severity, index, migration, violation));
            }
        }
    }
    (findings, suppressed)
}

/// The settings the rules read, from the project's configuration.
fn settings(config: &Config) -> Settings {
    Settings {
        pg_version: config.pg_version(),
        max_lock_timeout_ms: config.thresholds.max_lock_timeout_ms,
        runner_session: config.runner.session(),
    }
}
