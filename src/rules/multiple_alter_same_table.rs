//! Several ALTER TABLE statements on one table in one migration that could be one statement.

use std::collections::HashMap;

use super::{Category, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, Framework, Migration, OpKind, QualifiedName};
use crate::replay::transaction::TransactionState;

pub const RULE: Rule = Rule {
    id: "multiple-alter-same-table",
    severity: Severity::Info,
    category: Category::Locks,
    summary: "several ALTER TABLE statements on one table that could be one, taking the lock once",
    check: None,
    end_of_migration: Some(end_of_migration),
    end_of_run: None,
};

/// ALTER TABLE actions that may share one statement. Not RENAME forms (which must stand alone),
/// and not VALIDATE CONSTRAINT: run alone it scans under SHARE UPDATE EXCLUSIVE, while in a
/// statement with other actions it would scan under their ACCESS EXCLUSIVE.
fn combinable(kind: &OpKind) -> Option<&QualifiedName> {
    match kind {
        OpKind::AddColumn { table, .. }
        | OpKind::DropColumn { table, .. }
        | OpKind::AlterColumnType { table, .. }
        | OpKind::SetNotNull { table, .. }
        | OpKind::DropNotNull { table, .. }
        | OpKind::SetDefault { table, .. }
        | OpKind::AddConstraint { table, .. }
        | OpKind::DropConstraint { table, .. } => Some(table),
        _ => None,
    }
}

/// Does this op rely on a constraint of its table (a validated CHECK that lets SET NOT NULL or
/// ADD PRIMARY KEY USING INDEX skip their scan)? Inside one ALTER TABLE, PostgreSQL runs every
/// DROP before the other actions, so a DROP CONSTRAINT that follows it must stay a separate
/// statement.
fn relies_on_constraints(kind: &OpKind) -> bool {
    match kind {
        OpKind::SetNotNull { .. } => true,
        OpKind::AddConstraint { constraint, .. } => {
            matches!(constraint.kind, ConstraintKind::PrimaryKey { using_index: Some(_), .. })
        }
        _ => false,
    }
}

fn end_of_migration(migration: &Migration, _: &TransactionState, out: &mut Vec<Violation>) {
    // Django and Alembic write one statement per operation: there is nothing to combine.
    if migration.framework != Framework::Sql {
        return;
    }
    let mut statements: HashMap<&QualifiedName, Vec<usize>> = HashMap::new();
    let mut relied_on: Vec<&QualifiedName> = vec![];
    for op in &migration.ops {
        let Some(table) = combinable(&op.kind) else { continue };
        if matches!(op.kind, OpKind::DropConstraint { .. }) && relied_on.contains(&table) {
            continue;
        }
        if relies_on_constraints(&op.kind) {
            relied_on.push(table);
        }
        let seen = statements.entry(table).or_default();
        if seen.last() != Some(&op.statement) {
            seen.push(op.statement);
        }
    }
    let created: Vec<&QualifiedName> = migration
        .ops
        .iter()
        .filter_map(|op| match &op.kind {
            OpKind::CreateTable { table, .. } => Some(table),
            _ => None,
        })
        .collect();
    let mut reported: Vec<(&QualifiedName, usize)> = statements
        .into_iter()
        .filter(|(table, seen)| seen.len() > 1 && !created.contains(table))
        .map(|(table, seen)| (table, seen[1]))
        .collect();
    reported.sort_by_key(|(_, statement)| *statement);
    for (table, statement) in reported {
        let Some(op) = migration.ops.iter().find(|op| op.statement == statement) else { continue };
        out.push(Violation::on(
            op,
            format!("this is another ALTER TABLE on `{table}` in the same migration: each statement requests the table's lock again (queueing again when it runs outside a transaction), and each scan or rewrite is a separate pass over the table"),
            format!("combine the actions into one statement, `ALTER TABLE {table} ADD COLUMN …, ALTER COLUMN …;`: the lock is requested once and PostgreSQL does all scans and rewrites in one pass"),
        ));
    }
}
