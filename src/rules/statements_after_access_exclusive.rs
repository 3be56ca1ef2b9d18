//! Slow or lock-taking work in a transaction that already holds ACCESS EXCLUSIVE on a table:
//! reported once per transaction, at the statement that takes the lock, with the statements
//! that run under it.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Migration, OpKind, TransactionControl};
use crate::postgres::LockMode;
use crate::replay::transaction::{TransactionState, TransactionStatement};

pub const RULE: Rule = Rule {
    id: "statements-after-access-exclusive",
    severity: Severity::Warning,
    category: Category::Locks,
    summary: "work that runs while an earlier statement of the same transaction still holds ACCESS EXCLUSIVE",
    check: Some(check),
    end_of_migration: Some(end_of_migration),
    end_of_run: None,
};

/// Statements listed by line in the message; the rest are counted.
const LISTED: usize = 10;

/// A transaction ends at COMMIT or ROLLBACK (a ROLLBACK still ran everything under the lock).
fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    if matches!(ctx.op.kind, OpKind::Transaction(TransactionControl::Commit | TransactionControl::Rollback))
        && ctx.first_in_statement
        && ctx.transaction.in_transaction
    {
        report(ctx.migration, ctx.transaction, out);
    }
}

/// … or with the migration, when the runner wraps it.
fn end_of_migration(migration: &Migration, transaction: &TransactionState, out: &mut Vec<Violation>) {
    if transaction.in_transaction {
        report(migration, transaction, out);
    }
}

fn report(migration: &Migration, tx: &TransactionState, out: &mut Vec<Violation>) {
    let Some(held) =
        tx.held.iter().filter(|h| h.mode == LockMode::AccessExclusive && h.existed).min_by_key(|h| h.statement)
    else {
        return;
    };
    let under: Vec<String> = tx
        .statements
        .iter()
        .filter(|s| s.statement > held.statement)
        .filter_map(|s| what_it_does(s, &held.relation).map(|what| (s, what)))
        .map(|(s, what)| format!("line {} ({what})", migration.source.line_col(s.span.start).0))
        .collect();
    if under.is_empty() {
        return;
    }
    let mut listed = under[..under.len().min(LISTED)].join(", ");
    if under.len() > LISTED {
        listed.push_str(&format!(" and {} more", under.len() - LISTED));
    }
    let count = match under.len() {
        1 => "1 later statement runs".to_string(),
        n => format!("{n} later statements run"),
    };
    let relation = &held.relation;
    let mut violation = Violation::at(
        held.span,
        format!(
            "the {} lock this statement takes on `{relation}` is held until the transaction ends, and {count} under it: {listed}; every read and write on `{relation}` waits for all of them",
            held.mode
        ),
        format!("put the {} change in its own transaction (its own migration, with runners that wrap each file), or move it after the slow statements", held.mode),
    )
    .with_lock(Some(format!("{} on {relation}", held.mode)));
    violation.statement = Some(held.statement);
    out.push(violation);
}

/// Work that grows with a table that existed before the migration, or a wait for a lock on
/// another such table.
fn what_it_does(statement: &TransactionStatement, held: &crate::ir::QualifiedName) -> Option<String> {
    let existing = || statement.effects.iter().filter(|(_, existed)| *existed).map(|(e, _)| e);
    if let Some(e) = existing().find(|e| e.work.scales_with_table()) {
        return Some(format!("does {} on `{}`", e.work.describe(), e.relation));
    }
    existing()
        .find(|e| &e.relation != held)
        .map(|e| format!("waits for {} lock on `{}`", with_article(e.mode), e.relation))
}
