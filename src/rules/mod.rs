//! The rule registry. One file per rule, named by its id; each rule is a small pure function
//! of an op and the state around it (catalog before the op, transaction, lock effects).

mod add_check_without_not_valid;
mod add_column_auto_increment;
mod add_column_generated_stored;
mod add_column_not_null_without_default;
mod add_column_volatile_default;
mod add_exclusion_constraint;
mod add_foreign_key_without_not_valid;
mod add_primary_key_builds_index;
mod add_unique_constraint_builds_index;
mod alter_column_type_rewrite;
mod attach_partition_scan;
mod autocommit_block_commits;
mod ban_char_type;
mod concurrently_in_transaction;
mod create_index_not_concurrently;
mod data_change_in_migration;
mod detach_partition_not_concurrently;
mod django_default_dropped;
mod domain_constraint;
mod drop_column;
mod drop_constraint;
mod drop_index_not_concurrently;
mod drop_not_null;
mod drop_table;
pub mod edited_applied_migration;
mod enum_value_change;
mod identifier_too_long;
mod invalid_directive;
mod lock_model_mismatch;
mod lock_timeout_too_long;
mod migration_graph;
mod missing_lock_timeout;
mod missing_statement_timeout;
mod multiple_alter_same_table;
mod parse_error;
mod prefer_bigint;
mod prefer_identity;
mod prefer_jsonb;
mod prefer_text;
mod prefer_timestamptz;
mod refresh_materialized_view_not_concurrently;
mod reindex_not_concurrently;
mod rename_column;
mod rename_table;
mod schema_change_beside_code;
mod set_not_null_scan;
mod statements_after_access_exclusive;
mod table_rewrite_command;
mod transaction_nesting;
mod trigger_change;
mod truncate;
mod truncate_cascade;
mod unanalyzable_operation;
mod unclosed_transaction;
mod unindexed_foreign_key;
mod unused_ignore;
mod validate_in_same_transaction;

use std::sync::Arc;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::ir::{ColumnDef, Framework, Migration, Op, OpKind, ProblemKind, QualifiedName, SourceFile, Span, SqlType};
use crate::locks::{LockEffect, Work};
use crate::postgres::LockMode;
use crate::replay::transaction::TransactionState;
use crate::replay::Settings;

pub use edited_applied_migration::ID as EDITED_APPLIED_MIGRATION;
pub use invalid_directive::ID as INVALID_DIRECTIVE;
pub use lock_model_mismatch::ID as LOCK_MODEL_MISMATCH;
pub use migration_graph::ID as MIGRATION_GRAPH;
pub use unanalyzable_operation::ID as UNANALYZABLE_OPERATION;
pub use unused_ignore::ID as UNUSED_IGNORE;

/// The rule that reports a problem a loader found with a migration as a whole.
pub fn problem_rule(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::MigrationGraph => MIGRATION_GRAPH,
        ProblemKind::InvalidDirective => INVALID_DIRECTIVE,
        ProblemKind::EditedAppliedMigration => EDITED_APPLIED_MIGRATION,
    }
}

/// Every rule lockgate has, in the order of `lockgate rules`. docs/rules.md's tables list them in
/// this order within each [`Category`].
pub static REGISTRY: &[&Rule] = &[
    &add_column_not_null_without_default::RULE,
    &add_column_volatile_default::RULE,
    &add_column_auto_increment::RULE,
    &add_column_generated_stored::RULE,
    &alter_column_type_rewrite::RULE,
    &set_not_null_scan::RULE,
    &add_check_without_not_valid::RULE,
    &add_foreign_key_without_not_valid::RULE,
    &validate_in_same_transaction::RULE,
    &add_unique_constraint_builds_index::RULE,
    &add_primary_key_builds_index::RULE,
    &add_exclusion_constraint::RULE,
    &create_index_not_concurrently::RULE,
    &drop_index_not_concurrently::RULE,
    &reindex_not_concurrently::RULE,
    &concurrently_in_transaction::RULE,
    &table_rewrite_command::RULE,
    &attach_partition_scan::RULE,
    &detach_partition_not_concurrently::RULE,
    &refresh_materialized_view_not_concurrently::RULE,
    &trigger_change::RULE,
    &domain_constraint::RULE,
    &enum_value_change::RULE,
    &truncate::RULE,
    &truncate_cascade::RULE,
    &data_change_in_migration::RULE,
    &schema_change_beside_code::RULE,
    &statements_after_access_exclusive::RULE,
    &multiple_alter_same_table::RULE,
    &unindexed_foreign_key::RULE,
    &missing_lock_timeout::RULE,
    &missing_statement_timeout::RULE,
    &lock_timeout_too_long::RULE,
    &django_default_dropped::RULE,
    &rename_column::RULE,
    &rename_table::RULE,
    &drop_column::RULE,
    &drop_table::RULE,
    &drop_not_null::RULE,
    &drop_constraint::RULE,
    &prefer_bigint::RULE,
    &prefer_identity::RULE,
    &prefer_text::RULE,
    &prefer_timestamptz::RULE,
    &ban_char_type::RULE,
    &prefer_jsonb::RULE,
    &identifier_too_long::RULE,
    &unclosed_transaction::RULE,
    &transaction_nesting::RULE,
    &autocommit_block_commits::RULE,
    &migration_graph::RULE,
    &edited_applied_migration::RULE,
    &parse_error::RULE,
    &unanalyzable_operation::RULE,
    &unused_ignore::RULE,
    &invalid_directive::RULE,
    &lock_model_mismatch::RULE,
];

pub fn find(id: &str) -> Option<&'static Rule> {
    REGISTRY.iter().copied().find(|r| r.id == id)
}

// `RULE_PAGES`: every `rules/<id>.md`, embedded by build.rs so the pages travel with the binary.
include!(concat!(env!("OUT_DIR"), "/rule_pages.rs"));

/// The documentation page of a rule.
pub fn page(id: &str) -> Option<&'static str> {
    RULE_PAGES.iter().find(|(page, _)| *page == id).map(|(_, text)| *text)
}

/// The summary paragraph of a rule's page (its third line, by the page format).
pub fn description(id: &str) -> Option<&'static str> {
    page(id).and_then(|text| text.lines().nth(2)).filter(|line| !line.trim().is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What kind of hazard a rule is about; docs/rules.md lists the rules in one table per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Locks,
    Timeouts,
    Compatibility,
    Design,
    Transactions,
    Coverage,
}

impl Category {
    /// In the order docs/rules.md lists them.
    pub const ALL: [Category; 6] = [
        Category::Locks,
        Category::Timeouts,
        Category::Compatibility,
        Category::Design,
        Category::Transactions,
        Category::Coverage,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Category::Locks => "Rewrites, scans and blocking locks",
            Category::Timeouts => "Timeouts",
            Category::Compatibility => "Backward compatibility and data loss",
            Category::Design => "Schema design (easy to turn off)",
            Category::Transactions => "Transactions and history",
            Category::Coverage => "Coverage and suppressions",
        }
    }
}

/// The rule tables of docs/rules.md (`lockgate rules --format markdown`): one per category, a row per
/// rule with its page, default severity and summary, so a rule's summary is written once, in its
/// own file.
pub fn markdown_tables() -> String {
    let mut out = String::new();
    for category in Category::ALL {
        let rules: Vec<&Rule> = REGISTRY.iter().copied().filter(|r| r.category == category).collect();
        if rules.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("**{}**\n\n| rule | default | flags |\n|---|---|---|\n", category.title()));
        for rule in rules {
            out.push_str(&format!(
                "| [{id}](rules/{id}.md) | {} | {} |\n",
                rule.severity.as_str(),
                rule.summary.replace('|', "\\|"),
                id = rule.id
            ));
        }
    }
    out
}

type Check = fn(&OpContext, &mut Vec<Violation>);
type EndOfMigration = fn(&Migration, &TransactionState, &mut Vec<Violation>);
type EndOfRun = fn(&Catalog, &[Migration], &mut Vec<(usize, Violation)>);

pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// The docs/rules.md table it is listed in.
    pub category: Category,
    /// One line: what the rule flags.
    pub summary: &'static str,
    /// Runs on every op, with the schema as it was before the op.
    pub check: Option<Check>,
    /// Runs once after each migration, with its final transaction state.
    pub end_of_migration: Option<EndOfMigration>,
    /// Runs once after all migrations, with the final schema.
    pub end_of_run: Option<EndOfRun>,
}

impl Rule {
    pub const fn on_op(
        id: &'static str,
        category: Category,
        severity: Severity,
        summary: &'static str,
        check: Check,
    ) -> Rule {
        Rule { id, severity, category, summary, check: Some(check), end_of_migration: None, end_of_run: None }
    }
}

/// What a finding's hazard depends on, so that `check` can weigh it against the live sizes.
/// Taken from the lock model: the work the op does under its strongest lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Cost {
    /// Work under a lock that grows with the table (a rewrite, a scan, an index build, a
    /// validation, row changes): harmless on a small enough table.
    Work { table: QualifiedName, work: Work },
    /// It fails or breaks the running application whatever the table's size.
    AnySize,
}

/// What a rule reports; the driver turns it into a [`Finding`].
#[derive(Debug, Clone)]
pub struct Violation {
    /// Overrides the rule's default severity for this case (the config still wins).
    pub severity: Option<Severity>,
    pub span: Span,
    /// The statement it is about, for statement-level ignores.
    pub statement: Option<usize>,
    pub message: String,
    pub lock: Option<String>,
    pub help: String,
    pub cost: Cost,
    /// The table the hazard is on and the migration that created it, where the replay saw it
    /// created and no migration since may have written rows: a table no deploy has filled yet
    /// makes the hazard moot.
    pub table_origin: Option<(QualifiedName, usize)>,
    /// Why the work it is about is nil where the migration runs (its table emptied or proven
    /// empty earlier in the migration): the finding is then a note saying so, whatever the
    /// rule's configured severity, like every finding about a table certainly empty.
    pub nil_work: Option<String>,
}

impl Violation {
    pub fn at(span: Span, message: impl Into<String>, help: impl Into<String>) -> Self {
        Violation {
            severity: None,
            span,
            statement: None,
            message: message.into(),
            lock: None,
            help: help.into(),
            cost: Cost::AnySize,
            table_origin: None,
            nil_work: None,
        }
    }

    pub fn on(op: &Op, message: impl Into<String>, help: impl Into<String>) -> Self {
        Violation {
            severity: None,
            span: op.span,
            statement: Some(op.statement),
            message: message.into(),
            lock: None,
            help: help.into(),
            cost: Cost::AnySize,
            table_origin: None,
            nil_work: None,
        }
    }

    /// The hazard is not the work under the lock (a failure, a broken application), so the
    /// table's size does not change it.
    pub fn at_any_size(mut self) -> Self {
        self.cost = Cost::AnySize;
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub fn with_lock(mut self, lock: Option<String>) -> Self {
        self.lock = lock;
        self
    }
}

/// A reported problem, ready for output.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub migration: usize,
    pub migration_id: String,
    pub source: Arc<SourceFile>,
    pub span: Span,
    pub message: String,
    pub lock: Option<String>,
    pub help: String,
    /// The statement it is about, within its migration.
    pub statement: Option<usize>,
    pub cost: Cost,
}

impl Finding {
    pub fn new(rule: &'static Rule, severity: Severity, index: usize, migration: &Migration, v: Violation) -> Self {
        Finding {
            rule: rule.id,
            severity,
            migration: index,
            migration_id: migration.id.clone(),
            source: migration.source.clone(),
            span: v.span,
            message: v.message,
            lock: v.lock,
            help: v.help,
            statement: v.statement,
            cost: v.cost,
        }
    }
}

/// Everything a rule may look at for one op.
pub struct OpContext<'a> {
    pub op: &'a Op,
    pub migration: &'a Migration,
    pub migration_index: usize,
    /// The schema just before this op.
    pub catalog: &'a Catalog,
    pub effects: &'a [LockEffect],
    pub transaction: &'a TransactionState,
    pub settings: &'a Settings,
    /// The first op of its statement (an ALTER TABLE with several actions has several ops).
    pub first_in_statement: bool,
    /// Where this op is in `migration.ops`.
    pub position: usize,
}

impl OpContext<'_> {
    /// Created earlier in this same migration, so still empty: locking it hurts no one.
    pub fn is_new_table(&self, table: &QualifiedName) -> bool {
        self.catalog.created_in(table, self.migration_index) || creates(&self.op.kind, table)
    }

    pub fn framework(&self) -> Framework {
        self.migration.framework
    }

    /// The op just before this one in the migration.
    pub fn previous(&self) -> Option<&Op> {
        self.position.checked_sub(1).map(|p| &self.migration.ops[p])
    }

    /// The ops of this migration that run after this one.
    pub fn later_ops(&self) -> &[Op] {
        self.migration.ops.get(self.position + 1..).unwrap_or_default()
    }

    /// The lock this op takes on `relation` (its strongest there).
    pub fn lock_on(&self, relation: &QualifiedName) -> Option<&LockEffect> {
        self.effects.iter().filter(|e| &e.relation == relation).max_by_key(|e| e.mode)
    }

    /// "takes an ACCESS EXCLUSIVE lock on `users` (blocks every read and write)": the lock this op
    /// takes on `relation` as the lock table gives it, so a message cannot disagree with it.
    pub fn takes_lock_on(&self, relation: &QualifiedName) -> String {
        match self.lock_on(relation) {
            Some(effect) => takes_lock(effect.mode, relation),
            None => format!("locks `{relation}`"),
        }
    }

    /// "ACCESS EXCLUSIVE": the mode of this op's lock on `relation`, as the lock table gives it
    /// ("a lock" where it names none).
    pub fn mode_on(&self, relation: &QualifiedName) -> String {
        self.lock_on(relation).map_or_else(|| "a lock".to_string(), |effect| effect.mode.to_string())
    }

    /// "ACCESS EXCLUSIVE on `a` and `b`", "SHARE on `a`, ACCESS EXCLUSIVE on `b`": this op's locks
    /// on `relations`, as the lock table gives them (a relation it names no lock on is left out).
    pub fn locks_on<'r>(&self, relations: impl IntoIterator<Item = &'r QualifiedName>) -> String {
        let mut groups: Vec<(LockMode, Vec<String>)> = vec![];
        for relation in relations {
            let Some(effect) = self.lock_on(relation) else { continue };
            match groups.iter_mut().find(|(mode, _)| *mode == effect.mode) {
                Some((_, names)) => names.push(format!("`{relation}`")),
                None => groups.push((effect.mode, vec![format!("`{relation}`")])),
            }
        }
        let groups: Vec<String> =
            groups.into_iter().map(|(mode, names)| format!("{mode} on {}", and_list(&names))).collect();
        groups.join(", ")
    }

    /// "SHARE UPDATE EXCLUSIVE": the strongest lock the lock table gives `op`, the alternative a
    /// help text proposes, on the schema as it is before this op, so help names its locks from the
    /// same table as the message ("its lock" where the table names none).
    pub fn lock_of(&self, op: &OpKind) -> String {
        let effects = crate::locks::effects(op, self.catalog, self.settings.pg_version);
        crate::locks::strongest(&effects).map_or_else(|| "its lock".to_string(), |e| e.mode.to_string())
    }

    /// The work this op does under its lock on `table`.
    pub fn work_on(&self, table: &QualifiedName) -> Option<Work> {
        self.lock_on(table).map(|e| e.work)
    }

    /// How to run a `SET` first thing in this migration, in its framework's words.
    pub fn run_first(&self, setting: &str) -> String {
        match self.framework() {
            Framework::Sql => format!("start the migration with `{setting};`"),
            Framework::Django => {
                format!("make `migrations.RunSQL(\"{setting}\", migrations.RunSQL.noop)` the first operation")
            }
            Framework::Alembic => format!("start `upgrade()` with `op.execute(\"{setting}\")`"),
        }
    }

    /// A violation at this op, carrying the main lock it takes and, when the work under that
    /// lock grows with the table, that work as its cost.
    pub fn violation(&self, message: impl Into<String>, help: impl Into<String>) -> Violation {
        // `rev` so that, among equally strong locks, the op's own table wins.
        let main = self.effects.iter().rev().max_by_key(|e| e.mode);
        let mut violation = Violation::on(self.op, message, help).with_lock(main.map(lock_label));
        violation.table_origin = main.and_then(|effect| {
            let table = self.catalog.table(&effect.relation).filter(|t| !t.maybe_filled)?;
            Some((effect.relation.clone(), table.origin?.migration))
        });
        if let Some(effect) = main.filter(|e| e.work.scales_with_table()) {
            violation.cost = Cost::Work { table: effect.relation.clone(), work: effect.work };
        }
        violation
    }

    /// Why the work `violation` is about is nil: its table was emptied earlier in this
    /// migration (DELETE without WHERE, TRUNCATE) or proved empty (an earlier statement fails on
    /// any row).
    pub fn nil_work(&self, violation: &Violation) -> Option<String> {
        let Cost::Work { table, .. } = &violation.cost else { return None };
        if self.catalog.emptied_in(table, self.migration_index) {
            Some(format!("an earlier statement of this migration deletes every row of `{table}`, so this work is nil"))
        } else if self.catalog.proven_empty_in(table, self.migration_index) {
            Some(format!(
                "an earlier statement of this migration adds a NOT NULL column without a default to `{table}`, \
                 which fails on any row: where the migration succeeds, the table is empty and this work is nil"
            ))
        } else {
            None
        }
    }
}

/// The columns an op declares (CREATE TABLE, ADD COLUMN), with their table.
pub fn declared_columns(op: &OpKind) -> Vec<(&QualifiedName, &ColumnDef)> {
    match op {
        OpKind::CreateTable { table, columns, .. } => columns.iter().map(|c| (table, c)).collect(),
        OpKind::AddColumn { table, column } => vec![(table, column)],
        _ => vec![],
    }
}

/// Every column type an op gives: declared (CREATE TABLE, ADD COLUMN) or changed to
/// (ALTER COLUMN … TYPE), with its table and column name, for the rules that judge a type.
pub fn given_types(op: &OpKind) -> Vec<(&QualifiedName, &str, &SqlType)> {
    match op {
        OpKind::AlterColumnType { table, column, new_type, .. } => vec![(table, column.as_str(), new_type)],
        _ => declared_columns(op).into_iter().map(|(table, c)| (table, c.name.as_str(), &c.ty)).collect(),
    }
}

/// Does this op create `table` (so its lock on it blocks no one)?
pub fn creates(op: &OpKind, table: &QualifiedName) -> bool {
    matches!(op, OpKind::CreateTable { table: t, .. } | OpKind::CreateTableAs { table: t, .. } if t == table)
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "an ACCESS EXCLUSIVE", "a SHARE".
pub fn with_article(mode: LockMode) -> String {
    let article = if mode.sql_name().starts_with(['A', 'E']) { "an" } else { "a" };
    format!("{article} {mode}")
}

/// `ACCESS EXCLUSIVE on users`.
pub fn lock_label(effect: &LockEffect) -> String {
    format!("{} on {}", effect.mode, effect.relation)
}

/// "takes an ACCESS EXCLUSIVE lock on `users` (blocks every read and write)".
pub fn takes_lock(mode: LockMode, relation: &QualifiedName) -> String {
    format!("takes {} lock on `{relation}` ({})", with_article(mode), mode.blocks())
}

/// The file `scripts/new-rule` copies for a new rule, compiled here so that what it writes builds.
#[cfg(test)]
#[path = "../../scripts/new-rule.d/rule.rs"]
mod new_rule_template;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_a_loader_finds_is_reported_by_a_registered_rule() {
        let kinds = [ProblemKind::MigrationGraph, ProblemKind::InvalidDirective, ProblemKind::EditedAppliedMigration];
        for kind in kinds {
            let id = problem_rule(kind);
            assert!(find(id).is_some(), "{kind:?} maps to `{id}`, which is not in the registry");
        }
    }

    #[test]
    fn the_scaffold_template_is_a_rule_on_ops_that_no_registered_rule_shadows() {
        let rule = &new_rule_template::RULE;
        assert_eq!(rule.id, "new-rule-template");
        assert!(rule.check.is_some());
        assert!(find(rule.id).is_none());
    }
}
