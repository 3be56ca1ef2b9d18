//! The executor's plan: the pending migrations as steps in three phases — *expand* (additive,
//! before the deploy), *backfill* (data, apart from the deploy), *contract* (destructive or
//! tightening, after it) — with each unsafe op replaced by its safe recipe. Every step records
//! its SQL, its locks and estimate, its timeout class, the catalog fact that shows it already
//! ran (re-runs are idempotent), how to undo it, and where it came from. The plan carries a
//! checksum of itself and of every source file: the reviewed plan is the plan that runs.

pub mod ir_sql;
pub mod recipes;
pub mod render;
pub mod sqlgen;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::{self, Step as ReplayStep, Visitor};
use crate::estimate::{self, Duration, Profile};
use crate::ir::{Framework, Migration, OpKind, QualifiedName};
use crate::live::history::{History, Runner};
use crate::live::schema::TableStats;
use crate::live::Observation;
use crate::locks::{LockMode, PgVersion, Work};

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
#[derive(Debug, Clone)]
pub struct PlanError {
    pub source: SourceRef,
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.source.path, self.source.line, self.source.column, self.message)
    }
}

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
pub struct Inputs<'a> {
    pub observation: &'a Observation,
    pub profile: &'a Profile,
    pub database: String,
}

/// Plans the pending migrations (in runner order) against the live database.
pub fn build(pending: &[Migration], inputs: &Inputs) -> Result<Plan, Vec<PlanError>> {
    let observation = inputs.observation;
    let pg = PgVersion(observation.server.major().clamp(11, 18));
    let stats = observation.schema.stats_by_table();
    let lookup = |table: &crate::ir::QualifiedName| stats.get(table).map(|s| (*s).clone());
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
    };
    planner.errors.extend(pending.iter().filter_map(|m| partly_applied_squash(m, &observation.history)));
    analysis::replay(pending, observation.catalog(), pg, &mut planner);
    if !planner.errors.is_empty() {
        return Err(planner.errors);
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
}

impl Visitor for Planner<'_> {
    fn op(&mut self, step: &ReplayStep) {
        let estimate = estimate::Inputs {
            profile: self.profile,
            catalog: step.catalog,
            stats: self.stats,
            parallel_maintenance: self.parallel,
        };
        let context = recipes::Context {
            step,
            pg: self.pg,
            estimate: &estimate,
            source: source_ref(step.migration, step.op.span.start),
        };
        match recipes::plan_op(&context) {
            recipes::Outcome::Steps(drafts) => {
                let mut tables: Vec<QualifiedName> = step.op.kind.table().into_iter().cloned().collect();
                if let OpKind::RenameTable { table, new_name } = &step.op.kind {
                    tables.push(QualifiedName::new(table.schema.clone(), new_name.clone()));
                }
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
            recipes::Outcome::Error(message) => self.errors.push(PlanError { source: context.source.clone(), message }),
        }
    }
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
        source: source_ref(migration, 0),
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
