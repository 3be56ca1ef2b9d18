//! Several ALTER TABLE statements on one table in one migration that could be one statement.

use std::collections::HashMap;

use super::{Rule, Severity, Violation};
use crate::analysis::transaction::TransactionState;
use crate::ir::{Migration, OpKind, QualifiedName};

pub const RULE: Rule = Rule {
    id: "multiple-alter-same-table",
    severity: Severity::Info,
    summary: "several ALTER TABLE statements on one table that could be one, taking the lock once",
    check: None,
    end_of_migration: Some(end_of_migration),
    end_of_run: None,
};

/// ALTER TABLE actions that may share one statement (RENAME forms may not).
fn combinable(kind: &OpKind) -> Option<&QualifiedName> {
    match kind {
        OpKind::AddColumn { table, .. }
        | OpKind::DropColumn { table, .. }
        | OpKind::AlterColumnType { table, .. }
        | OpKind::SetNotNull { table, .. }
        | OpKind::DropNotNull { table, .. }
        | OpKind::SetDefault { table, .. }
        | OpKind::AddConstraint { table, .. }
        | OpKind::DropConstraint { table, .. }
        | OpKind::ValidateConstraint { table, .. } => Some(table),
        _ => None,
    }
}

fn end_of_migration(migration: &Migration, _: &TransactionState, out: &mut Vec<Violation>) {
    let mut statements: HashMap<&QualifiedName, Vec<usize>> = HashMap::new();
    for op in &migration.ops {
        let Some(table) = combinable(&op.kind) else { continue };
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
            format!("this is another ALTER TABLE on `{table}` in the same migration: each statement queues for the lock separately, and a VALIDATE or type change may rescan the table"),
            format!("combine the actions into one statement, `ALTER TABLE {table} ADD COLUMN …, ALTER COLUMN …;`, so the lock is taken once"),
        ));
    }
}
