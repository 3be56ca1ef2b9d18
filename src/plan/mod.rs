//! The executor's plan: the pending migrations as steps in three phases — *expand* (additive,
//! before the deploy), *backfill* (data, apart from the deploy), *contract* (destructive or
//! tightening, after it) — with each unsafe op replaced by its safe recipe. Every step records
//! its SQL, its locks and estimate, its timeout class, the catalog fact that shows it already
//! ran (re-runs are idempotent), how to undo it, and where it came from. The plan carries a
//! checksum of itself and of every source file: the reviewed plan is the plan that runs.

pub mod recipes;
pub mod render;
pub mod sent;
pub mod sqlgen;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::path::{Path, PathBuf};

use crate::analysis::{self, ReplayStep, Visitor};
use crate::catalog::{Catalog, Origin};
use crate::config::FrameworkConfig;
use crate::estimate::{self, Duration, Profile};
use crate::ir::{Framework, Migration, OpKind, QualifiedName};
use crate::live::history::{History, Runner};
use crate::live::schema::TableStats;
use crate::live::Observation;
use crate::locks::Work;
use crate::postgres::{LockMode, PgVersion};
use crate::replay::transaction::TransactionState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Expand,
    Backfill,
    Contract,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Expand, Phase::Backfill, Phase::Contract];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Backfill => "backfill",
            Phase::Contract => "contract",
        }
    }
}

/// How a step is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeoutClass {
    /// Metadata work under a strong lock: lock_timeout and a short statement_timeout, so a
    /// rewrite that slipped through is cancelled rather than left blocking traffic.
    Short,
    /// CONCURRENTLY builds, VALIDATE, data changes: lock_timeout only; the work takes what it
    /// takes under a lock that lets traffic through.
    Unbounded,
}

/// A catalog fact that shows a step already ran: checked just before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "kebab-case")]
pub enum Fact {
    TableExists {
        schema: String,
        table: String,
    },
    TableAbsent {
        schema: String,
        table: String,
    },
    ColumnExists {
        schema: String,
        table: String,
        column: String,
    },
    ColumnAbsent {
        schema: String,
        table: String,
        column: String,
    },
    ColumnNotNull {
        schema: String,
        table: String,
        column: String,
    },
    /// The index exists and is valid (an invalid one is dropped and built again).
    IndexValid {
        schema: String,
        index: String,
    },
    IndexAbsent {
        schema: String,
        index: String,
    },
    ConstraintExists {
        schema: String,
        table: String,
        constraint: String,
    },
    ConstraintValidated {
        schema: String,
        table: String,
        constraint: String,
    },
    ConstraintAbsent {
        schema: String,
        table: String,
        constraint: String,
    },
    /// The runner's history table records the migration: its framework ran it.
    Recorded {
        runner: Runner,
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockTaken {
    pub relation: String,
    pub mode: LockMode,
    pub work: Work,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `<migration id>/<n>`: stable for a given plan.
    pub id: String,
    pub migration: String,
    pub phase: Phase,
    /// What it does, in a few words.
    pub title: String,
    pub sql: Vec<String>,
    /// Run the statements in one transaction (with SET LOCAL timeouts); false for
    /// CONCURRENTLY, which cannot run in one.
    pub transaction: bool,
    pub timeout: TimeoutClass,
    pub locks: Vec<LockTaken>,
    pub estimate: Duration,
    /// When this holds, the step already ran and is skipped.
    pub done_when: Option<Fact>,
    /// Statements that undo the step (for `rollback` of an expand); empty when it cannot be
    /// undone automatically.
    pub undo: Vec<String>,
    pub source: SourceRef,
    /// The safe rewrite applied, when the statement was not run as written.
    pub recipe: Option<String>,
    /// Why it runs as written although it is not safe, or what the operator should know.
    pub note: Option<String>,
    /// Data changes run in keyset batches instead of as one statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batched: Option<Batched>,
    /// Undone by the undo of that later step: a RunSQL's `reverse_sql` undoes all of its
    /// statements at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_with: Option<String>,
    /// A migration run by its framework's own command instead of SQL statements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<FrameworkRun>,
}

/// A Django or Alembic migration that only its framework can run (RunPython, SQL built by
/// Python, a custom operation, a field type lockgate cannot write): the framework's command
/// for exactly this migration, with lockgate's timeouts passed to its connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkRun {
    /// The command and its arguments, the migration filled in.
    pub command: Vec<String>,
    /// The folder it runs in.
    pub directory: String,
    /// Why lockgate cannot send the migration's SQL itself, one line per operation.
    pub why: Vec<String>,
    /// The schema operations inside it that would have run through a safe recipe in a
    /// migration of their own; here they run as the framework writes them.
    pub would_have_recipes: Vec<String>,
}

/// A data change run in batches along the primary key, one short transaction each, the
/// cursor journaled after every batch: row locks are held for one batch, and a rerun continues
/// where the last batch committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batched {
    /// `"schema"."table"`.
    pub table: String,
    /// The primary key's columns, quoted, in key order.
    pub key: Vec<String>,
    /// The assignment: `"token" = gen_random_uuid()`.
    pub set: String,
    /// Which rows still need it: `"token" IS NULL`.
    pub pending: String,
}

/// How a migration is recorded once all its steps ran, so its own runner sees it as applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedMigration {
    pub id: String,
    pub framework: Framework,
    pub path: String,
    /// SHA-256 of the file.
    pub checksum: String,
    /// The runner history table to record it in (besides lockgate's own journal).
    pub runner: Option<Runner>,
    /// The runner's own key for it: a version, a revision, `app.name`.
    pub runner_key: String,
    /// Alembic: the revisions it follows, whose rows in `alembic_version` it replaces.
    pub parents: Vec<String>,
    /// Django: the migrations a squashed migration replaces, recorded with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// The runner's own checksum of the file, where its history table keeps one (Flyway, sqlx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_checksum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    /// SHA-256 over everything below (with this field empty).
    pub checksum: String,
    pub created_at: String,
    pub database: String,
    pub server_version: String,
    pub migrations: Vec<PlannedMigration>,
    pub steps: Vec<Step>,
    /// Statements left out because the executor owns them (BEGIN/COMMIT, SET of timeouts).
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub source: SourceRef,
    pub text: String,
    pub why: String,
}

/// A migration lockgate cannot turn into SQL statically (RunPython, dynamic SQL, a statement
/// it could not parse): planning stops here.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{}:{}: {message}", location.path, location.line, location.column)]
pub struct PlanError {
    /// Where the migration says it.
    pub location: SourceRef,
    pub message: String,
}

/// Why no plan was made: every place planning stopped, so that one run shows them all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the plan cannot be made:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct BuildError(pub Vec<PlanError>);

impl Plan {
    pub const SCHEMA_VERSION: u32 = 1;

    /// The checksum the plan's content has now.
    pub fn compute_checksum(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.checksum = String::new();
        hex(&Sha256::digest(serde_json::to_vec(&unsealed).unwrap_or_default()))
    }

    pub fn seal(mut self) -> Plan {
        self.checksum = self.compute_checksum();
        self
    }

    pub fn steps_in(&self, phase: Phase) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.phase == phase)
    }

    /// Files whose content changed since the plan was made.
    pub fn changed_sources(&self) -> Vec<String> {
        self.migrations
            .iter()
            .filter(|m| std::fs::read(&m.path).map(|bytes| file_checksum(&bytes)).ok().as_deref() != Some(&m.checksum))
            .map(|m| m.path.clone())
            .collect()
    }
}

pub fn file_checksum(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the planner reads besides the migrations.
pub struct PlanInputs<'a> {
    pub observation: &'a Observation,
    pub profile: &'a Profile,
    pub database: String,
    /// How migrations only their framework can run are run.
    pub framework: &'a FrameworkConfig,
    /// The folder of the lockgate.toml read, which `[framework] directory` is relative to.
    pub config_dir: Option<&'a Path>,
}

/// Plans the pending migrations (in runner order) against the live database.
pub fn build(pending: &[Migration], inputs: &PlanInputs) -> Result<Plan, BuildError> {
    let observation = inputs.observation;
    let pg = PgVersion(observation.server.major().clamp(11, 18));
    let stats = observation.schema.stats_by_table();
    let lookup = |table: &crate::ir::QualifiedName| stats.get(table).cloned();
    let mut planner = Planner {
        pg,
        profile: inputs.profile,
        stats: &lookup,
        parallel: observation.server.max_parallel_maintenance_workers > 0,
        steps: vec![],
        skipped: vec![],
        errors: vec![],
        counters: BTreeMap::new(),
        table_phase: HashMap::new(),
        current: None,
        framework: inputs.framework,
        config_dir: inputs.config_dir,
    };
    planner.errors.extend(pending.iter().filter_map(|m| partly_applied_squash(m, &observation.history)));
    analysis::replay(pending, observation.catalog(), pg, &mut planner);
    if !planner.errors.is_empty() {
        return Err(BuildError(planner.errors));
    }
    let migrations = pending.iter().map(|m| planned_migration(m, &observation.history)).collect();
    Ok(Plan {
        schema_version: Plan::SCHEMA_VERSION,
        checksum: String::new(),
        created_at: jiff::Timestamp::now().to_string(),
        database: inputs.database.clone(),
        server_version: observation.server.version.clone(),
        migrations,
        steps: planner.steps,
        skipped: planner.skipped,
    }
    .seal())
}

fn planned_migration(migration: &Migration, history: &History) -> PlannedMigration {
    let bytes = std::fs::read(&migration.source.path).unwrap_or_else(|_| migration.source.text.as_bytes().to_vec());
    let runner = history.recording_runner(migration);
    PlannedMigration {
        id: migration.id.clone(),
        framework: migration.framework,
        path: migration.source.display_path().to_string(),
        checksum: file_checksum(&bytes),
        runner_key: runner.and_then(|r| r.key_for(migration)).unwrap_or_else(|| migration.id.clone()),
        runner_checksum: runner.and_then(|r| r.checksum_for(&bytes)),
        runner,
        parents: migration.parents.clone(),
        replaces: migration.replaces.clone(),
    }
}

/// Turns every op into steps as the replay reaches it (the schema just before it decides the
/// recipe).
struct Planner<'a> {
    pg: PgVersion,
    profile: &'a Profile,
    stats: &'a dyn Fn(&crate::ir::QualifiedName) -> Option<TableStats>,
    parallel: bool,
    steps: Vec<Step>,
    skipped: Vec<Skipped>,
    errors: Vec<PlanError>,
    /// Steps so far per migration, for step ids.
    counters: BTreeMap<String, usize>,
    /// Per table, the latest phase of a step that renamed or dropped something on it: a later
    /// op on the table may not run in an earlier phase, or it would run before the change it
    /// follows.
    table_phase: HashMap<QualifiedName, Phase>,
    /// The migration being planned, kept until its end decides whether lockgate runs its
    /// steps or its framework runs it whole.
    current: Option<Current>,
    framework: &'a FrameworkConfig,
    config_dir: Option<&'a Path>,
}

/// The planner's state as a migration began, and what its ops need under lock as written.
struct Current {
    index: usize,
    steps: usize,
    skipped: usize,
    errors: usize,
    counter: Option<usize>,
    table_phase: HashMap<QualifiedName, Phase>,
    /// What the framework would take, op by op as written.
    locks: Vec<LockTaken>,
    work_ms: f64,
    /// The latest phase its ops belong to.
    phase: Phase,
    tables: Vec<QualifiedName>,
    /// Steps (by index) whose op carries a RunSQL's `reverse_sql`.
    reversible: Vec<(usize, std::sync::Arc<str>)>,
}

impl Visitor for Planner<'_> {
    fn op(&mut self, step: &ReplayStep) {
        let estimate = estimate::EstimateInputs {
            profile: self.profile,
            catalog: step.catalog,
            stats: self.stats,
            parallel_maintenance: self.parallel,
        };
        // Only a Django or Alembic migration can become a framework step (or carry a
        // reverse_sql): what the framework would do is followed for those alone.
        let framework_run = step.migration.framework != Framework::Sql;
        if framework_run && self.current.as_ref().map(|c| c.index) != Some(step.migration_index) {
            self.current = Some(Current {
                index: step.migration_index,
                steps: self.steps.len(),
                skipped: self.skipped.len(),
                errors: self.errors.len(),
                counter: self.counters.get(&step.migration.id).copied(),
                table_phase: self.table_phase.clone(),
                locks: vec![],
                work_ms: 0.0,
                phase: Phase::Expand,
                tables: vec![],
                reversible: vec![],
            });
        }
        let (steps_before, errors_before) = (self.steps.len(), self.errors.len());
        let context = recipes::Context {
            step,
            pg: self.pg,
            estimate: &estimate,
            source: source_ref(step.migration, step.op.span.start),
        };
        match recipes::plan_op(&context) {
            recipes::Outcome::Steps(drafts) => {
                let tables = op_tables(&step.op.kind);
                let floor = tables.iter().filter_map(|t| self.table_phase.get(t)).max().copied();
                for mut draft in drafts {
                    draft.raise_phase(floor);
                    if changes_names(&step.op.kind) {
                        for table in &tables {
                            let phase = self.table_phase.entry(table.clone()).or_insert(draft.phase());
                            *phase = (*phase).max(draft.phase());
                        }
                    }
                    let counter = self.counters.entry(step.migration.id.clone()).or_default();
                    *counter += 1;
                    self.steps.push(draft.into_step(
                        format!("{}/{}", step.migration.id, counter),
                        step.migration,
                        &context,
                    ));
                }
            }
            recipes::Outcome::Skip(why) => self.skipped.push(Skipped {
                source: context.source.clone(),
                text: recipes::statement_text(step).lines().next().unwrap_or_default().trim().to_string(),
                why,
            }),
            recipes::Outcome::Nothing => {}
            recipes::Outcome::Error(message) => {
                self.errors.push(PlanError { location: context.source.clone(), message })
            }
        }
        // What the framework itself would do with this op, should it have to run the migration.
        let Some(current) = self.current.as_mut() else { return };
        if let Some(reverse) = &step.op.reverse_sql {
            current.reversible.extend((steps_before..self.steps.len()).map(|index| (index, reverse.clone())));
        }
        for effect in step.effects {
            current.work_ms += estimate.work_ms(&step.op.kind, effect);
            let taken = LockTaken { relation: effect.relation.to_string(), mode: effect.mode, work: effect.work };
            if !current.locks.contains(&taken) {
                current.locks.push(taken);
            }
        }
        let planned = self.steps[steps_before..].iter().map(|s| s.phase).max();
        let phase = match planned {
            Some(phase) => phase,
            None if self.errors.len() > errors_before => unplanned_phase(&step.op.kind),
            None => Phase::Expand,
        };
        current.phase = current.phase.max(phase);
        current.tables.extend(op_tables(&step.op.kind));
    }

    fn end_of_migration(&mut self, index: usize, migration: &Migration, _: &TransactionState, catalog: &Catalog) {
        let Some(current) = self.current.take_if(|c| c.index == index) else { return };
        let refused = self.errors.len() > current.errors;
        if refused && migration.framework != Framework::Sql {
            self.framework_step(migration, current);
        } else {
            self.reverse(&current.reversible);
            self.downgrade(migration, current.steps, catalog);
        }
    }
}

/// The statements of a migration's rollback ops, written against the schema the migration
/// leaves (each op sees the ones before it applied): SQL text as written, once per statement,
/// the rest as its framework writes it; a `SET` of a timeout is left to the executor, and any
/// other `SET` would have to outlive its statement, so such a rollback is not used. `None` when it has none, or one cannot be written.
fn rollback_sql(migration: &Migration, after: &Catalog) -> Option<Vec<String>> {
    let ops = migration.rollback.as_ref()?;
    let mut catalog = after.clone();
    let mut sql = vec![];
    let mut previous = None;
    for op in ops {
        match &op.kind {
            // The executor sets its own timeouts for the undo, as for every step.
            OpKind::Setting { name, .. } if recipes::is_timeout(name) => continue,
            OpKind::Setting { .. } => return None,
            _ => {}
        }
        match &op.embedded_sql {
            Some(text) if previous != Some(op.statement) => sql.push(text.to_string()),
            Some(_) => {}
            None => sql.extend(sent::statements(op, &catalog).ok()?),
        }
        previous = Some(op.statement);
        catalog.apply(&op.kind, Origin { migration: usize::MAX, statement: op.statement });
    }
    Some(sql)
}

/// The tables an op names: its own, and a renamed table's new name too.
fn op_tables(kind: &OpKind) -> Vec<QualifiedName> {
    let mut tables: Vec<QualifiedName> = kind.table().into_iter().cloned().collect();
    if let OpKind::RenameTable { table, new_name } = kind {
        tables.push(QualifiedName::new(table.schema.clone(), new_name.clone()));
    }
    tables
}

/// The phase an op the planner cannot write belongs to: data changes in backfill, additions
/// in expand, the rest (drops, tightening) in contract.
fn unplanned_phase(kind: &OpKind) -> Phase {
    match kind {
        OpKind::DataChange { .. } | OpKind::Opaque { .. } => Phase::Backfill,
        OpKind::CreateTable { .. }
        | OpKind::CreateTableAs { .. }
        | OpKind::AddColumn { .. }
        | OpKind::CreateIndex { .. }
        | OpKind::CreateEnum { .. }
        | OpKind::AddEnumValue { .. }
        | OpKind::CreateSequence { .. }
        | OpKind::CreateDomain { .. }
        | OpKind::CreateOrReplaceView { .. }
        | OpKind::Comment { .. }
        | OpKind::Other { .. } => Phase::Expand,
        _ => Phase::Contract,
    }
}

impl Planner<'_> {
    /// A RunSQL's `reverse_sql` becomes the undo of its last step, which the earlier steps of
    /// the same RunSQL are undone with.
    fn reverse(&mut self, reversible: &[(usize, std::sync::Arc<str>)]) {
        // The steps of one RunSQL are next to each other and share its text.
        for group in reversible.chunk_by(|a, b| std::sync::Arc::ptr_eq(&a.1, &b.1)) {
            let [earlier @ .., (last, reverse)] = group else { continue };
            self.steps[*last].undo = vec![reverse.to_string()];
            let id = self.steps[*last].id.clone();
            for (index, _) in earlier {
                if self.steps[*index].undo.is_empty() {
                    self.steps[*index].undone_with = Some(id.clone());
                }
            }
        }
    }

    /// A migration whose framework says how to undo it (Alembic's `downgrade()`) is undone by
    /// that: its SQL becomes the undo of the migration's last step, which the earlier steps are
    /// undone with. Only where every step is in expand: rollback undoes an expand alone, and a
    /// downgrade undoes the whole revision. Where an op of it cannot be written, each step keeps
    /// its own undo.
    fn downgrade(&mut self, migration: &Migration, first: usize, after: &Catalog) {
        let steps = first..self.steps.len();
        if steps.is_empty() || self.steps[steps.clone()].iter().any(|s| s.phase != Phase::Expand) {
            return;
        }
        let Some(sql) = rollback_sql(migration, after) else { return };
        let last = steps.end - 1;
        self.steps[last].undo = sql;
        let id = self.steps[last].id.clone();
        for step in &mut self.steps[first..last] {
            step.undo.clear();
            step.undone_with = Some(id.clone());
        }
    }

    /// Replaces what was planned for `migration` by one step that runs the framework's own
    /// command for it. It runs after every step of the migrations before it (the framework
    /// would run any of them it does not find recorded), in the latest phase its own ops
    /// belong to; later ops on its tables run no earlier.
    fn framework_step(&mut self, migration: &Migration, current: Current) {
        let discarded: Vec<Step> = self.steps.drain(current.steps..).collect();
        let why: Vec<String> = self
            .errors
            .drain(current.errors..)
            .map(|e| {
                format!("line {}: {}", e.location.line, e.message.trim_start_matches("cannot plan this operation: "))
            })
            .collect();
        self.skipped.truncate(current.skipped);
        self.table_phase = current.table_phase;
        match current.counter {
            Some(counter) => self.counters.insert(migration.id.clone(), counter),
            None => self.counters.remove(&migration.id),
        };
        let would_have_recipes = discarded
            .iter()
            .filter_map(|s| s.recipe.as_ref().map(|recipe| format!("line {}: {} [{recipe}]", s.source.line, s.title)))
            .collect();
        let earlier = self.steps.iter().map(|s| s.phase).max();
        let floor = current.tables.iter().filter_map(|t| self.table_phase.get(t)).max().copied();
        let phase = [Some(current.phase), earlier, floor].into_iter().flatten().max().unwrap_or(Phase::Expand);
        for table in &current.tables {
            let entry = self.table_phase.entry(table.clone()).or_insert(phase);
            *entry = (*entry).max(phase);
        }
        let (runner, command) = match migration.framework {
            Framework::Django => {
                let (app, name) = migration.id.split_once('.').unwrap_or(("", &migration.id));
                (Runner::Django, fill(&self.framework.django, &[("{app}", app), ("{name}", name)]))
            }
            _ => (Runner::Alembic, fill(&self.framework.alembic, &[("{revision}", &migration.id)])),
        };
        let strong = current.locks.iter().any(|l| l.mode >= LockMode::Share);
        let counter = self.counters.entry(migration.id.clone()).or_default();
        *counter += 1;
        let source = source_ref(migration, 0);
        self.steps.push(Step {
            id: format!("{}/{}", migration.id, counter),
            migration: migration.id.clone(),
            phase,
            title: format!("run {} with {}", migration.id, command.join(" ")),
            sql: vec![],
            transaction: migration.transaction == crate::ir::TransactionMode::Wrapped,
            timeout: if strong { TimeoutClass::Short } else { TimeoutClass::Unbounded },
            locks: current.locks,
            estimate: Duration::around(self.profile.catalog_ms + current.work_ms),
            done_when: Some(Fact::Recorded { runner, key: migration.id.clone() }),
            undo: vec![],
            source,
            recipe: None,
            note: Some(format!(
                "only {} can run this migration: lockgate passes its lock_timeout and statement_timeout to the \
                 command's connection (PGOPTIONS) and runs its operations as the framework writes them",
                if runner == Runner::Django { "Django" } else { "Alembic" }
            )),
            batched: None,
            undone_with: None,
            framework: Some(FrameworkRun {
                command,
                directory: self.directory(migration).display().to_string(),
                why,
                would_have_recipes,
            }),
        });
    }

    /// `[framework] directory`, or the folder above the migration holding the framework's
    /// entry point (`manage.py`, `alembic.ini`), or the working directory.
    fn directory(&self, migration: &Migration) -> PathBuf {
        let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(directory) = &self.framework.directory {
            return absolute(&self.config_dir.map_or_else(|| directory.clone(), |dir| dir.join(directory)));
        }
        let marker = if migration.framework == Framework::Django { "manage.py" } else { "alembic.ini" };
        let file = absolute(&migration.source.path);
        file.ancestors()
            .skip(1)
            .find(|dir| dir.join(marker).is_file())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| absolute(Path::new(".")))
    }
}

/// The command with `{placeholder}`s replaced.
fn fill(command: &[String], values: &[(&str, &str)]) -> Vec<String> {
    command
        .iter()
        .map(|word| values.iter().fold(word.clone(), |word, (placeholder, value)| word.replace(placeholder, value)))
        .collect()
}

/// Renames and drops: later statements may reuse or refer to the new names.
fn changes_names(kind: &OpKind) -> bool {
    matches!(
        kind,
        OpKind::RenameTable { .. }
            | OpKind::RenameColumn { .. }
            | OpKind::RenameConstraint { .. }
            | OpKind::RenameIndex { .. }
            | OpKind::DropTable { .. }
            | OpKind::DropColumn { .. }
            | OpKind::DropConstraint { .. }
            | OpKind::DropIndex { .. }
    )
}

/// Django runs the replaced migrations, not the squash, once some of them are applied; lockgate
/// reads the project as Django does on an empty database, where the squash stands for them.
fn partly_applied_squash(migration: &Migration, history: &History) -> Option<PlanError> {
    let applied: Vec<&str> =
        migration.replaces.iter().filter(|r| history.django_recorded(r)).map(String::as_str).collect();
    (!applied.is_empty()).then(|| PlanError {
        location: source_ref(migration, 0),
        message: format!(
            "squashed migration {} replaces migrations of which {} already ran ({}): Django finishes the replaced \
             migrations here instead of the squash, and lockgate plans a squash only where none of them ran; \
             run `manage.py migrate` for this app",
            migration.id,
            applied.len(),
            applied.join(", ")
        ),
    })
}

fn source_ref(migration: &Migration, offset: usize) -> SourceRef {
    let (line, column) = migration.source.line_col(offset);
    SourceRef { path: migration.source.display_path().to_string(), line, column }
}
