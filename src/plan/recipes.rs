//! One op → its steps: as written when that is safe, or through its safe recipe (the rewrites
//! strong_migrations-style tools apply by hand, done automatically).

use pg_query::NodeEnum;

use super::sqlgen;
use super::{Fact, LockTaken, Phase, SourceRef, Step, TimeoutClass};
use crate::analysis::ReplayStep;
use crate::catalog::{self, Origin};
use crate::estimate::{self, Duration};
use crate::ir::{
    quote_identifier as ident, quote_resolved, ConstraintDef, ConstraintKind, DataChangeKind, Migration, OpKind,
    QualifiedName,
};
use crate::locks::{self, LockEffect, Work};
use crate::postgres::{Feature, LockMode, PgVersion};

/// Where a note names the step's lock ([`Draft::note`]).
const LOCK: &str = "{lock}";

pub struct Context<'a> {
    pub step: &'a ReplayStep<'a>,
    pub pg: PgVersion,
    pub estimate: &'a estimate::EstimateInputs<'a>,
    pub source: SourceRef,
}

pub enum Outcome {
    Steps(Vec<Draft>),
    /// Left out on purpose (the executor owns transactions and timeouts).
    Skip(String),
    /// Covered by another op of the same statement.
    Nothing,
    /// Cannot be planned: stops the plan at this location.
    Error(String),
}

/// A step before it gets its id.
pub struct Draft {
    phase: Phase,
    title: String,
    sql: Vec<String>,
    transaction: bool,
    /// Set for a step with no statement timeout whatever its locks (a backfill); otherwise from
    /// its locks.
    timeout: Option<TimeoutClass>,
    /// The locks it takes and the work under them, from the lock table: the op's own effects for
    /// a statement run as written, otherwise filled in by [`take_locks`] from the step's SQL.
    locks: Option<Vec<LockEffect>>,
    done_when: Option<Fact>,
    undo: Vec<String>,
    recipe: Option<&'static str>,
    note: Option<String>,
    batched: Option<super::Batched>,
}

impl Draft {
    /// A step running `sql`; its locks come from the lock table ([`take_locks`]).
    fn new(phase: Phase, title: impl Into<String>, sql: Vec<String>) -> Draft {
        Draft {
            phase,
            title: title.into(),
            sql,
            transaction: true,
            timeout: None,
            locks: None,
            done_when: None,
            undo: vec![],
            recipe: None,
            note: None,
            batched: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves the step to `floor` when that phase is later than its own.
    pub fn raise_phase(&mut self, floor: Option<Phase>) {
        if let Some(floor) = floor.filter(|f| *f > self.phase) {
            self.phase = floor;
            self.note.get_or_insert_with(|| {
                format!("runs in the {} phase, after an earlier rename or drop on the same table", floor.name())
            });
        }
    }

    fn outside_transaction(mut self) -> Draft {
        self.transaction = false;
        self
    }

    fn done_when(mut self, fact: Fact) -> Draft {
        self.done_when = Some(fact);
        self
    }

    fn undo(mut self, undo: Vec<String>) -> Draft {
        self.undo = undo;
        self
    }

    fn recipe(mut self, recipe: &'static str) -> Draft {
        self.recipe = Some(recipe);
        self
    }

    /// What the operator should know. Where it says [`LOCK`], the step's strongest lock is named,
    /// from the step's locks as the lock table gives them.
    fn note(mut self, note: impl Into<String>) -> Draft {
        self.note = Some(note.into());
        self
    }

    /// A step with no statement timeout whatever its locks.
    fn unbounded(mut self) -> Draft {
        self.timeout = Some(TimeoutClass::Unbounded);
        self
    }

    pub fn into_step(self, id: String, migration: &Migration, context: &Context) -> Step {
        let op = &context.step.op.kind;
        let locks = self.locks.unwrap_or_default();
        let work: f64 = locks.iter().map(|l| context.estimate.work_ms(op, l)).sum();
        // A lock that blocks writes is held only as long as the statement timeout allows.
        let strong = locks.iter().any(|l| l.mode >= LockMode::Share);
        let timeout = self.timeout.unwrap_or(if strong { TimeoutClass::Short } else { TimeoutClass::Unbounded });
        Step {
            id,
            migration: migration.id.clone(),
            phase: self.phase,
            title: self.title,
            sql: self.sql,
            transaction: self.transaction,
            timeout,
            locks: locks
                .iter()
                .map(|l| LockTaken { relation: l.relation.to_string(), mode: l.mode, work: l.work })
                .collect(),
            estimate: Duration::around(context.estimate.profile.catalog_ms + work),
            done_when: self.done_when,
            undo: self.undo,
            source: context.source.clone(),
            recipe: self.recipe.map(str::to_string),
            note: self.note.map(|note| match locks::strongest(&locks) {
                Some(lock) => note.replace(LOCK, lock.mode.sql_name()),
                None => note.replace(&format!(" under {LOCK}"), ""),
            }),
            batched: self.batched,
            undone_with: None,
            framework: None,
        }
    }
}

/// The SQL of the statement an op came from: its text in the SQL file, or the statement
/// inside a RunSQL / `op.execute` string.
pub fn statement_text<'a>(step: &'a ReplayStep) -> &'a str {
    statement_text_of(step.migration, step.op)
}

/// [`statement_text`] of an op of `migration`.
pub fn statement_text_of<'a>(migration: &'a Migration, op: &'a crate::ir::Op) -> &'a str {
    match &op.embedded_sql {
        Some(sql) => sql,
        None => migration.source.text.get(op.span.start..op.span.end).unwrap_or_default(),
    }
}

pub fn plan_op(context: &Context) -> Outcome {
    let step = context.step;
    // A template the runner renders: what runs is not known until it is mapped.
    if step.migration.templates > 0 && statement_text(step).contains("{{") {
        return Outcome::Error(
            "the statement holds a template expression (`{{ … }}`) that lint reads as a name; map it to the SQL it \
             renders in `[sql.placeholders]` of lockgate.toml, so that what runs is what the template renders"
                .into(),
        );
    }
    match &step.op.kind {
        OpKind::Transaction(_) => {
            return Outcome::Skip("the executor runs every step in a transaction of its own".into());
        }
        OpKind::Setting { name, .. } if is_timeout(name) => {
            return Outcome::Skip("the executor sets lock_timeout and statement_timeout for every step".into());
        }
        OpKind::Setting { name, .. } => {
            return Outcome::Error(format!(
                "`SET {name}` would have to hold for the later steps, which run in transactions of their own; \
                 qualify names or set it on the role instead"
            ))
        }
        OpKind::Unparsed { reason } => {
            return Outcome::Error(format!("cannot plan a statement lockgate could not parse: {reason}"))
        }
        OpKind::DataChange { kind: DataChangeKind::Copy, .. } => {
            return Outcome::Error("COPY … FROM reads data the plan cannot carry; load it with psql instead".into())
        }
        _ => {}
    }
    // A framework operation carries what its schema editor sends; SQL text is its own statement.
    if step.op.sender.is_some() {
        return framework_op(context);
    }
    let Some(node) = statement_node(step) else {
        return Outcome::Nothing;
    };
    let mut planned = drafts(context, &node);
    match take_locks(context, &mut planned) {
        Ok(()) => Outcome::Steps(planned),
        Err(why) => Outcome::Error(why),
    }
}

/// Each step's locks from the lock table: its statements, lowered to ops as any SQL is, and
/// each op's effects ([`locks::effects`]) on the schema as the steps before it (and the
/// statements before it in the same step) leave it, so that a VALIDATE sees the constraint the
/// step before added. A step running the op as written keeps the op's own effects. One lock per
/// relation: the strongest the step takes there, with the work that grows with the table, if any.
fn take_locks(context: &Context, drafts: &mut [Draft]) -> Result<(), String> {
    let step = context.step;
    if drafts.iter().all(|d| d.locks.is_some()) {
        return Ok(());
    }
    let mut schema = step.catalog.clone();
    let origin = Origin { migration: step.migration_index, statement: step.op.statement };
    for draft in drafts {
        let mut effects = vec![];
        for sql in &draft.sql {
            let ops = match lowered(sql) {
                Ok(ops) => ops,
                // A statement run as written already has its locks; only the schema after it is
                // lost, which no recipe step after it relies on.
                Err(_) if draft.locks.is_some() => continue,
                Err(why) => return Err(why),
            };
            for op in ops {
                effects.extend(locks::effects(&op, &schema, context.pg));
                schema.apply(&op, origin);
            }
        }
        // Each relation named as the migration names it (`orders`, where the recipe's SQL spells
        // out `"public"."orders"`).
        for effect in &mut effects {
            if let Some(named) = step.effects.iter().find(|e| e.relation == effect.relation) {
                effect.relation.clone_from(&named.relation);
            }
        }
        draft.locks.get_or_insert_with(|| one_per_relation(effects));
    }
    Ok(())
}

/// A statement's ops, as the SQL front end lowers them.
fn lowered(sql: &str) -> Result<Vec<OpKind>, String> {
    let node =
        sqlgen::parse_one(sql).ok_or_else(|| format!("the SQL written for this operation does not parse: {sql}"))?;
    Ok(sqlgen::split_alter(&node).iter().flat_map(crate::source::sql::lower::lower).collect())
}

/// One lock per relation, in the order first taken: the strongest mode the statements take there,
/// and the first work among them that grows with the table (else the first work).
fn one_per_relation(effects: Vec<LockEffect>) -> Vec<LockEffect> {
    let mut out: Vec<LockEffect> = vec![];
    for effect in effects {
        match out.iter_mut().find(|e| e.relation == effect.relation) {
            Some(held) => {
                held.mode = held.mode.max(effect.mode);
                if !held.work.scales_with_table() && effect.work.scales_with_table() {
                    held.work = effect.work;
                }
            }
            None => out.push(effect),
        }
    }
    out
}

/// A Django or Alembic operation: the statements its schema editor sends, each planned like
/// a statement read from a SQL file (with its own lock effects, against the same schema).
fn framework_op(context: &Context) -> Outcome {
    let step = context.step;
    let statements = match super::sent::statements(step.op, step.catalog) {
        Ok(statements) => statements,
        Err(why) => return Outcome::Error(format!("cannot plan this operation: {why}")),
    };
    let mut planned = vec![];
    for sql in statements {
        let Some(node) = sqlgen::parse_one(&sql) else {
            return Outcome::Error(format!("the SQL written for this operation does not parse: {sql}"));
        };
        for part in sqlgen::split_alter(&node) {
            for kind in crate::source::sql::lower::lower(&part) {
                let op = crate::ir::Op::new(kind, step.op.span, step.op.statement);
                let effects = locks::effects(&op.kind, step.catalog, context.pg);
                let rendered = ReplayStep { op: &op, effects: &effects, ..*step };
                let inner = Context {
                    step: &rendered,
                    pg: context.pg,
                    estimate: context.estimate,
                    source: context.source.clone(),
                };
                if !matches!(op.kind, OpKind::Transaction(_)) {
                    let mut drafts = drafts(&inner, &part);
                    if let Err(why) = take_locks(&inner, &mut drafts) {
                        return Outcome::Error(why);
                    }
                    planned.extend(drafts);
                }
            }
        }
    }
    if planned.is_empty() {
        Outcome::Nothing
    } else {
        Outcome::Steps(planned)
    }
}

pub(super) fn is_timeout(name: &str) -> bool {
    matches!(name, "lock_timeout" | "statement_timeout" | "idle_in_transaction_session_timeout" | "transaction_timeout")
}

/// This op's own statement: the statement itself, or for an ALTER TABLE with several actions,
/// the one action (as a statement of its own) that this op is. `None` for a statement that
/// cannot be split, after its first op.
fn statement_node(step: &ReplayStep) -> Option<NodeEnum> {
    let ops = &step.migration.ops;
    let statement = step.op.statement;
    let index_in_statement = ops[..step.position].iter().rev().take_while(|o| o.statement == statement).count();
    let ops_in_statement = ops.iter().filter(|o| o.statement == statement).count();
    let node = sqlgen::parse_one(statement_text(step))?;
    let parts = sqlgen::split_alter(&node);
    if parts.len() == ops_in_statement {
        parts.into_iter().nth(index_in_statement)
    } else {
        (index_in_statement == 0).then_some(node)
    }
}

/// The table exists in the database, rather than being created by a pending migration.
fn exists(context: &Context, table: &QualifiedName) -> bool {
    context.step.catalog.table(table).is_some_and(|t| t.origin.is_none())
}

fn drafts(context: &Context, node: &NodeEnum) -> Vec<Draft> {
    let step = context.step;
    let written = sqlgen::deparse(node).unwrap_or_else(|| statement_text(step).trim().to_string());
    let as_written = |phase: Phase| Draft {
        locks: Some(step.effects.to_vec()),
        ..Draft::new(phase, title(&step.op.kind), vec![written.clone()])
    };
    let schema = |table: &QualifiedName| table.schema_or_public().to_string();
    match &step.op.kind {
        OpKind::CreateIndex { table, concurrently: false, name, columns, .. } if exists(context, table) => {
            let name = name.clone().unwrap_or_else(|| catalog::default_index_name(table, columns));
            match sqlgen::concurrently(node) {
                Some(sql) => {
                    vec![build_concurrently(table, &name, sql, Phase::Expand).recipe("create-index-concurrently")]
                }
                None => vec![as_written(Phase::Expand)],
            }
        }
        OpKind::CreateIndex { table, concurrently: true, name, columns, .. } => {
            let name = name.clone().unwrap_or_else(|| catalog::default_index_name(table, columns));
            vec![build_concurrently(table, &name, written, Phase::Expand)]
        }
        OpKind::DropIndex { indexes, concurrently: false, .. } => {
            match (indexes.as_slice(), sqlgen::drop_concurrently(node)) {
                ([index], Some(sql)) => {
                    vec![Draft::new(Phase::Contract, format!("drop index {index} concurrently"), vec![sql])
                        .outside_transaction()
                        .done_when(Fact::IndexAbsent { schema: schema(index), index: index.name.clone() })
                        .recipe("drop-index-concurrently")]
                }
                _ => vec![as_written(Phase::Contract)],
            }
        }
        OpKind::AddConstraint { table, constraint, .. } if exists(context, table) => {
            add_constraint(context, node, table, constraint, as_written)
        }
        OpKind::AddConstraint { table, constraint, .. } => {
            let name = constraint_name(table, constraint);
            vec![as_written(Phase::Expand).done_when(Fact::ConstraintExists {
                schema: schema(table),
                table: table.name.clone(),
                constraint: name,
            })]
        }
        OpKind::ValidateConstraint { table, name } => {
            vec![as_written(Phase::Contract).done_when(Fact::ConstraintValidated {
                schema: schema(table),
                table: table.name.clone(),
                constraint: name.clone(),
            })]
        }
        OpKind::SetNotNull { table, column } if exists(context, table) => {
            set_not_null(context, table, column, as_written)
        }
        OpKind::AddColumn { table, column } if exists(context, table) => {
            add_column(context, node, table, column, as_written)
        }
        OpKind::AddColumn { table, column } => {
            vec![as_written(Phase::Expand).undo(vec![drop_column(table, &column.name)])]
        }
        OpKind::AlterColumnType { table, column, .. } => {
            let rewrites = step.effects.iter().any(|e| e.work == Work::Rewrite);
            let recipe = rewrites.then(|| change_type(context, node, table, column)).flatten();
            if let Some(steps) = recipe {
                steps
            } else if rewrites {
                vec![as_written(Phase::Contract).note(
                    "rewrites the table and its indexes under {lock}: runs as written under the timeouts \
                     (the statement timeout stops it on a large table); a new column kept in sync by a trigger and \
                     backfilled avoids the rewrite",
                )]
            } else {
                let scans = step.effects.iter().any(|e| e.work.scales_with_table());
                vec![as_written(if scans { Phase::Contract } else { Phase::Expand })]
            }
        }
        OpKind::CreateTable { table, .. } => vec![as_written(Phase::Expand)
            .done_when(Fact::TableExists { schema: schema(table), table: table.name.clone() })
            .undo(vec![format!("DROP TABLE IF EXISTS {}", quote_resolved(table))])],
        OpKind::SetDefault { table, column, .. } => {
            let previous =
                context.step.catalog.table(table).and_then(|t| t.column(column)).and_then(|c| c.default.clone());
            let undo = match previous {
                Some(default) => format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}",
                    quote_resolved(table),
                    ident(column),
                    default.text()
                ),
                None => format!("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT", quote_resolved(table), ident(column)),
            };
            vec![as_written(Phase::Expand).undo(vec![undo])]
        }
        OpKind::CreateEnum { name, .. } => {
            vec![as_written(Phase::Expand).undo(vec![format!("DROP TYPE IF EXISTS {}", quote_resolved(name))])]
        }
        OpKind::CreateSequence { name } => {
            vec![as_written(Phase::Expand).undo(vec![format!("DROP SEQUENCE IF EXISTS {}", quote_resolved(name))])]
        }
        OpKind::CreateOrReplaceView { view, replace: false } => {
            vec![as_written(Phase::Expand).undo(vec![format!("DROP VIEW IF EXISTS {}", quote_resolved(view))])]
        }
        OpKind::DataChange { table, .. } => {
            let mut draft = as_written(Phase::Backfill).unbounded();
            let key = table.as_ref().filter(|t| exists(context, t)).and_then(|t| primary_key(context, t));
            match (sqlgen::simple_update(node), key, table) {
                (Some(update), Some(key), Some(table)) => {
                    draft.batched = Some(super::Batched {
                        table: quote_resolved(table),
                        key: key.iter().map(|k| ident(k)).collect(),
                        set: update.set,
                        pending: update.condition.unwrap_or_else(|| "true".into()),
                    });
                    vec![draft.recipe("batched-update")]
                }
                _ => {
                    let changes = step.effects.iter().find(|e| table.as_ref() == Some(&e.relation));
                    let rows = changes.map_or(0, |effect| context.estimate.rows_touched(&step.op.kind, effect));
                    vec![draft.note(format!(
                        "one statement over up to {rows} rows, in a transaction of its own (only a plain UPDATE of \
                         a table with a primary key runs in batches)"
                    ))]
                }
            }
        }
        OpKind::Opaque { what } => {
            vec![as_written(Phase::Expand).note(format!("{what}: lockgate cannot see what it does; it runs as written"))]
        }
        kind if is_contract(kind) => vec![as_written(Phase::Contract)],
        kind => {
            let draft = as_written(Phase::Expand);
            if cannot_run_in_transaction(kind) {
                vec![draft.outside_transaction()]
            } else {
                vec![draft]
            }
        }
    }
}

/// CREATE [UNIQUE] INDEX CONCURRENTLY: no transaction, no statement timeout; an invalid index
/// a failed build left is dropped and built again.
fn build_concurrently(table: &QualifiedName, name: &str, sql: String, phase: Phase) -> Draft {
    let index = QualifiedName::new(Some(table.schema_or_public().to_string()), name);
    Draft::new(phase, format!("build index {name} on {table} concurrently"), vec![sql])
        .outside_transaction()
        .done_when(Fact::IndexValid { schema: table.schema_or_public().to_string(), index: name.to_string() })
        .undo(vec![format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quote_resolved(&index))])
}

fn constraint_name(table: &QualifiedName, constraint: &ConstraintDef) -> String {
    constraint.name.clone().unwrap_or_else(|| catalog::default_constraint_name(table, constraint))
}

fn add_constraint(
    context: &Context,
    node: &NodeEnum,
    table: &QualifiedName,
    constraint: &ConstraintDef,
    as_written: impl Fn(Phase) -> Draft,
) -> Vec<Draft> {
    let name = constraint_name(table, constraint);
    let schema = table.schema_or_public().to_string();
    let exists_fact =
        Fact::ConstraintExists { schema: schema.clone(), table: table.name.clone(), constraint: name.clone() };
    let validated_fact = Fact::ConstraintValidated { schema, table: table.name.clone(), constraint: name.clone() };
    match &constraint.kind {
        ConstraintKind::ForeignKey { .. } | ConstraintKind::Check { .. } if !constraint.not_valid => {
            let Some(add) = sqlgen::add_constraint_not_valid(node, &name) else {
                return vec![as_written(Phase::Contract)];
            };
            vec![
                Draft::new(Phase::Contract, format!("add constraint {name} NOT VALID"), vec![add])
                    .done_when(exists_fact)
                    .recipe("not-valid-then-validate"),
                Draft::new(
                    Phase::Contract,
                    format!("validate constraint {name}"),
                    vec![format!("ALTER TABLE {} VALIDATE CONSTRAINT {}", quote_resolved(table), ident(&name))],
                )
                .done_when(validated_fact)
                .recipe("not-valid-then-validate"),
            ]
        }
        ConstraintKind::Unique { columns, using_index: None }
        | ConstraintKind::PrimaryKey { columns, using_index: None } => {
            let primary = matches!(constraint.kind, ConstraintKind::PrimaryKey { .. });
            let keys: Vec<String> = columns.iter().map(|c| ident(c)).collect();
            // INCLUDE and NULLS NOT DISTINCT belong to the index, DEFERRABLE to the constraint.
            let (Some(suffix), Some(attach)) =
                (sqlgen::unique_index_suffix(node), sqlgen::attach_using_index(node, &name))
            else {
                return vec![as_written(Phase::Contract).done_when(exists_fact)];
            };
            let build = format!(
                "CREATE UNIQUE INDEX CONCURRENTLY {} ON {} ({}){suffix}",
                ident(&name),
                quote_resolved(table),
                keys.join(", ")
            );
            // As the lock table judges the attach step's scan.
            let nullable =
                primary && columns.iter().any(|c| !locks::proven_not_null(context.step.catalog, table, c, context.pg));
            let mut attach_step =
                Draft::new(Phase::Contract, format!("attach index {name} as a constraint"), vec![attach])
                    .done_when(exists_fact)
                    .recipe("unique-index-concurrently");
            if nullable {
                attach_step =
                    attach_step.note("the key columns are nullable: PRIMARY KEY sets NOT NULL, a scan under {lock}");
            }
            vec![
                build_concurrently(table, &name, build, Phase::Contract).recipe("unique-index-concurrently"),
                attach_step,
            ]
        }
        ConstraintKind::Exclusion => vec![as_written(Phase::Contract)
            .done_when(exists_fact)
            .note("EXCLUDE builds its index under {lock}; there is no concurrent form")],
        _ => vec![as_written(Phase::Contract).done_when(exists_fact)],
    }
}

/// `SET NOT NULL` on an existing table: a CHECK added NOT VALID, validated under SHARE UPDATE
/// EXCLUSIVE, lets SET NOT NULL skip its scan (PostgreSQL 12+); then the CHECK goes.
fn set_not_null(
    context: &Context,
    table: &QualifiedName,
    column: &str,
    as_written: impl Fn(Phase) -> Draft,
) -> Vec<Draft> {
    let table_state = context.step.catalog.table(table);
    let already = table_state.and_then(|t| t.column(column)).is_some_and(|c| c.not_null);
    let proven = table_state.is_some_and(|t| t.has_valid_not_null_check(column));
    if already || proven {
        return vec![as_written(Phase::Contract)];
    }
    if !context.pg.supports(Feature::SetNotNullFromCheck) {
        return vec![as_written(Phase::Contract)
            .note("before PostgreSQL 12 SET NOT NULL scans the table under {lock} whatever CHECK exists")];
    }
    not_null_through_check(table, column, "check-then-set-not-null")
}

fn not_null_through_check(table: &QualifiedName, column: &str, recipe: &'static str) -> Vec<Draft> {
    let check = catalog::truncate_identifier(format!("{}_{}_nn_check", table.name, column));
    let done = Fact::ColumnNotNull {
        schema: table.schema_or_public().to_string(),
        table: table.name.clone(),
        column: column.to_string(),
    };
    let rel = quote_resolved(table);
    let mut steps: Vec<Draft> =
        not_null_check_steps(table, column, &check, recipe).into_iter().map(|d| d.done_when(done.clone())).collect();
    steps.push(
        Draft::new(
            Phase::Contract,
            format!("set {column} NOT NULL (no scan: the CHECK proves it) and drop the CHECK"),
            vec![
                format!("ALTER TABLE {rel} ALTER COLUMN {} SET NOT NULL", ident(column)),
                format!("ALTER TABLE {rel} DROP CONSTRAINT IF EXISTS {}", ident(&check)),
            ],
        )
        .done_when(done)
        .recipe(recipe),
    );
    steps
}

/// `CHECK (column IS NOT NULL) NOT VALID`, then its validation under SHARE UPDATE EXCLUSIVE.
fn not_null_check_steps(table: &QualifiedName, column: &str, check: &str, recipe: &'static str) -> Vec<Draft> {
    let rel = quote_resolved(table);
    let schema = table.schema_or_public().to_string();
    vec![
        Draft::new(
            Phase::Contract,
            format!("add CHECK ({column} IS NOT NULL) NOT VALID"),
            vec![format!(
                "ALTER TABLE {rel} ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID",
                ident(check),
                ident(column)
            )],
        )
        .done_when(Fact::ConstraintExists {
            schema: schema.clone(),
            table: table.name.clone(),
            constraint: check.to_string(),
        })
        .recipe(recipe),
        Draft::new(
            Phase::Contract,
            format!("validate the CHECK on {column}"),
            vec![format!("ALTER TABLE {rel} VALIDATE CONSTRAINT {}", ident(check))],
        )
        .done_when(Fact::ConstraintValidated { schema, table: table.name.clone(), constraint: check.to_string() })
        .recipe(recipe),
    ]
}

/// `ADD COLUMN` on an existing table. Safe as written when nullable or with a constant
/// default (PostgreSQL 11+); with a per-row default or NOT NULL without a default: a nullable
/// column with the default for new rows (expand), a backfill, and NOT NULL through a CHECK
/// (contract).
fn add_column(
    context: &Context,
    node: &NodeEnum,
    table: &QualifiedName,
    column: &crate::ir::ColumnDef,
    as_written: impl Fn(Phase) -> Draft,
) -> Vec<Draft> {
    let undo = vec![drop_column(table, &column.name)];
    let exists_fact = Fact::ColumnExists {
        schema: table.schema_or_public().to_string(),
        table: table.name.clone(),
        column: column.name.clone(),
    };
    let rewrites_anyway = column.serial || column.identity || column.generated.is_some();
    let volatile = column.default.as_ref().is_some_and(|default| default.is_volatile(context.pg));
    let constant_default_before_11 = column.default.is_some() && !context.pg.supports(Feature::FastColumnDefault);
    let needs_recipe =
        !rewrites_anyway && (volatile || constant_default_before_11 || (column.not_null && column.default.is_none()));
    if rewrites_anyway {
        return vec![as_written(Phase::Expand)
            .done_when(exists_fact)
            .undo(undo)
            .note("serial, identity and generated columns fill every row: a rewrite under {lock}")];
    }
    let split = needs_recipe.then(|| sqlgen::add_column_without_default(node)).flatten();
    let Some(split) = split else { return vec![as_written(Phase::Expand).done_when(exists_fact).undo(undo)] };
    let rel = quote_resolved(table);
    let name = ident(&column.name);
    let mut sql = vec![split.add];
    if let Some(default) = &split.default {
        sql.push(format!("ALTER TABLE {rel} ALTER COLUMN {name} SET DEFAULT {default}"));
    }
    let mut add =
        Draft::new(Phase::Expand, format!("add column {} (nullable, default for new rows)", column.name), sql)
            .done_when(exists_fact)
            .undo(undo)
            .recipe("add-column-then-backfill");
    if split.default.is_none() && column.not_null {
        add =
            add.note("NOT NULL with no default: existing rows need a value before the contract phase can validate it");
    }
    let mut drafts = vec![add];
    if let Some(default) = &split.default {
        let mut backfill = Draft::new(
            Phase::Backfill,
            format!("backfill {} on existing rows", column.name),
            vec![format!("UPDATE {rel} SET {name} = {default} WHERE {name} IS NULL")],
        )
        .recipe("add-column-then-backfill");
        match primary_key(context, table) {
            Some(key) => {
                backfill.batched = Some(super::Batched {
                    table: rel.clone(),
                    key: key.iter().map(|k| ident(k)).collect(),
                    set: format!("{name} = {default}"),
                    pending: format!("{name} IS NULL"),
                })
            }
            None => {
                backfill = backfill
                    .note("the table has no primary key to batch on: one UPDATE holds every row's lock until it ends")
            }
        }
        drafts.push(backfill);
    }
    if column.not_null {
        drafts.extend(not_null_through_check(table, &column.name, "add-column-then-backfill"));
    }
    drafts
}

/// A type change that would rewrite the table: a new column kept in sync by a trigger
/// (expand), a batched backfill, then — indexes rebuilt concurrently on the new column and its
/// NOT NULL proven by a CHECK — one short transaction that drops the old column and renames
/// the new one into its place (contract). `None` when the column is part of a constraint, has
/// an index on an expression or a predicate, uses USING, or the table has no primary key: then
/// the statement runs as written.
fn change_type(context: &Context, node: &NodeEnum, table: &QualifiedName, column: &str) -> Option<Vec<Draft>> {
    let new_type = sqlgen::new_type_of_cast(node)?;
    let state = context.step.catalog.table(table)?;
    let current = state.column(column)?;
    let key = primary_key(context, table)?;
    let constrained = state.constraints.iter().any(|c| {
        ConstraintDef { name: None, kind: c.kind.clone(), not_valid: false }.columns().iter().any(|k| k == column)
            || matches!(c.kind, ConstraintKind::Check { .. } | ConstraintKind::Exclusion)
    });
    if constrained || current.identity || current.generated.is_some() {
        return None;
    }
    let indexes: Vec<&catalog::Index> = context
        .step
        .catalog
        .indexes_on(table)
        .filter(|i| i.columns.iter().any(|c| c.as_deref() == Some(column)))
        .collect();
    if indexes.iter().any(|i| i.partial || i.columns.iter().any(Option::is_none)) {
        return None;
    }
    let schema = table.schema_or_public().to_string();
    let rel = quote_resolved(table);
    let short = |suffix: &str| catalog::truncate_identifier(format!("{column}{suffix}"));
    let new = short("__lockgate_new");
    let function = QualifiedName::new(
        Some(schema.clone()),
        catalog::truncate_identifier(format!("lockgate_sync_{}_{column}", table.name)),
    );
    let trigger = short("__lockgate_sync");
    let check = short("__lockgate_nn");
    let (c, n) = (ident(column), ident(&new));
    let drop_sync = vec![
        format!("DROP TRIGGER IF EXISTS {} ON {rel}", ident(&trigger)),
        format!("DROP FUNCTION IF EXISTS {}()", quote_resolved(&function)),
    ];
    let recipe = "new-column-then-swap";
    let mut drafts = vec![Draft::new(
        Phase::Expand,
        format!("add {new} {new_type}, kept equal to {column} by a trigger"),
        vec![
            format!("ALTER TABLE {rel} ADD COLUMN {n} {new_type}"),
            format!(
                "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $lockgate$ BEGIN NEW.{n} := NEW.{c}::{new_type}; RETURN NEW; END $lockgate$",
                quote_resolved(&function)
            ),
            format!("CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {rel} FOR EACH ROW EXECUTE FUNCTION {}()", ident(&trigger), quote_resolved(&function)),
        ],
    )
    .done_when(Fact::ColumnExists { schema: schema.clone(), table: table.name.clone(), column: new.clone() })
    .undo(drop_sync.iter().cloned().chain([drop_column(table, &new)]).collect())
    .recipe(recipe)];
    let mut backfill = Draft::new(
        Phase::Backfill,
        format!("copy {column} into {new}"),
        vec![format!("UPDATE {rel} SET {n} = {c}::{new_type} WHERE {n} IS NULL AND {c} IS NOT NULL")],
    )
    .recipe(recipe);
    backfill.batched = Some(super::Batched {
        table: rel.clone(),
        key: key.iter().map(|k| ident(k)).collect(),
        set: format!("{n} = {c}::{new_type}"),
        pending: format!("{n} IS NULL AND {c} IS NOT NULL"),
    });
    drafts.push(backfill);
    let mut renames = vec![];
    for index in &indexes {
        let temporary = catalog::truncate_identifier(format!("{}__lockgate", index.name));
        let keys: Vec<String> =
            index.columns.iter().flatten().map(|k| if k == column { n.clone() } else { ident(k) }).collect();
        let sql = format!(
            "CREATE {}INDEX CONCURRENTLY {} ON {rel} ({})",
            if index.unique { "UNIQUE " } else { "" },
            ident(&temporary),
            keys.join(", ")
        );
        drafts.push(build_concurrently(table, &temporary, sql, Phase::Contract).recipe(recipe));
        renames.push(format!(
            "ALTER INDEX {} RENAME TO {}",
            quote_resolved(&QualifiedName::new(Some(schema.clone()), temporary)),
            ident(&index.name)
        ));
    }
    let mut swap = drop_sync;
    swap.push(format!("ALTER TABLE {rel} DROP COLUMN {c}"));
    swap.push(format!("ALTER TABLE {rel} RENAME COLUMN {n} TO {c}"));
    swap.extend(renames);
    if current.not_null {
        drafts.extend(not_null_check_steps(table, &new, &check, recipe));
        swap.push(format!("ALTER TABLE {rel} ALTER COLUMN {c} SET NOT NULL"));
        swap.push(format!("ALTER TABLE {rel} DROP CONSTRAINT {}", ident(&check)));
    }
    if let Some(default) = &current.default {
        swap.push(format!("ALTER TABLE {rel} ALTER COLUMN {c} SET DEFAULT {}", default.text()));
    }
    drafts.push(
        Draft::new(Phase::Contract, format!("swap {new} in for {column} (one short transaction)"), swap)
            .done_when(Fact::ColumnAbsent { schema, table: table.name.clone(), column: new })
            .recipe(recipe),
    );
    Some(drafts)
}

fn primary_key(context: &Context, table: &QualifiedName) -> Option<Vec<String>> {
    context.step.catalog.table(table)?.constraints.iter().find_map(|c| match &c.kind {
        ConstraintKind::PrimaryKey { columns, .. } if !columns.is_empty() => Some(columns.clone()),
        _ => None,
    })
}

fn drop_column(table: &QualifiedName, column: &str) -> String {
    format!("ALTER TABLE {} DROP COLUMN IF EXISTS {}", quote_resolved(table), ident(column))
}

/// Destructive or tightening changes: after the deploy, once old code is gone.
fn is_contract(kind: &OpKind) -> bool {
    matches!(
        kind,
        OpKind::DropTable { .. }
            | OpKind::DropColumn { .. }
            | OpKind::DropConstraint { .. }
            | OpKind::DropIndex { .. }
            | OpKind::DropTrigger { .. }
            | OpKind::RenameTable { .. }
            | OpKind::RenameColumn { .. }
            | OpKind::RenameConstraint { .. }
            | OpKind::RenameIndex { .. }
            | OpKind::RenameEnumValue { .. }
            | OpKind::Truncate { .. }
            | OpKind::SetNotNull { .. }
            | OpKind::Drop { .. }
            | OpKind::DetachPartition { .. }
    )
}

/// Statements PostgreSQL refuses inside a transaction block.
fn cannot_run_in_transaction(kind: &OpKind) -> bool {
    matches!(
        kind,
        OpKind::Reindex { concurrently: true, .. }
            | OpKind::DetachPartition { concurrently: true, .. }
            | OpKind::Vacuum { .. }
            | OpKind::VacuumFull { .. }
    )
}

/// A short description of an op run as written.
fn title(kind: &OpKind) -> String {
    match kind.table() {
        Some(table) => format!("{} on {table}", kind_name(kind)),
        None => kind_name(kind).to_string(),
    }
}

fn kind_name(kind: &OpKind) -> &'static str {
    match kind {
        OpKind::CreateTable { .. } => "create table",
        OpKind::AddColumn { .. } => "add column",
        OpKind::DropColumn { .. } => "drop column",
        OpKind::DropTable { .. } => "drop table",
        OpKind::AlterColumnType { .. } => "change column type",
        OpKind::SetNotNull { .. } => "set NOT NULL",
        OpKind::DropNotNull { .. } => "drop NOT NULL",
        OpKind::SetDefault { .. } => "set default",
        OpKind::AddConstraint { .. } => "add constraint",
        OpKind::ValidateConstraint { .. } => "validate constraint",
        OpKind::DropConstraint { .. } => "drop constraint",
        OpKind::CreateIndex { .. } => "create index",
        OpKind::DropIndex { .. } => "drop index",
        OpKind::RenameTable { .. }
        | OpKind::RenameColumn { .. }
        | OpKind::RenameConstraint { .. }
        | OpKind::RenameIndex { .. } => "rename",
        OpKind::DataChange { .. } => "data change",
        _ => "statement",
    }
}
