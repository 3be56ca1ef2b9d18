//! BEGIN without a matching COMMIT.

use super::{Category, Rule, Severity, Violation};
use crate::ir::{Migration, TransactionMode};
use crate::replay::transaction::TransactionState;

pub const RULE: Rule = Rule {
    id: "unclosed-transaction",
    severity: Severity::Error,
    category: Category::Transactions,
    summary: "a BEGIN with no COMMIT: depending on the runner, nothing after it is applied",
    check: None,
    end_of_migration: Some(end_of_migration),
    end_of_run: None,
};

fn end_of_migration(migration: &Migration, tx: &TransactionState, out: &mut Vec<Violation>) {
    // A runner that wraps the file commits whatever is open at its end (a BEGIN inside its
    // transaction is transaction-nesting's business).
    if migration.transaction == TransactionMode::Wrapped {
        return;
    }
    let (true, Some(span)) = (tx.explicit && tx.in_transaction, tx.begin_span) else { return };
    let statement = migration.ops.iter().find(|op| op.span == span).map(|op| op.statement);
    let mut violation = Violation::at(
        span,
        format!("this BEGIN in `{}` is never committed: when the runner's connection closes, PostgreSQL rolls back everything after it, and until then the transaction holds every lock taken in it", migration.id),
        "add `COMMIT;` at the end of the migration",
    );
    violation.statement = statement;
    out.push(violation);
}
