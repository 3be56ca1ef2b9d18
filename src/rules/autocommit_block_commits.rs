//! Alembic's `autocommit_block()` after schema changes in the same revision: it commits them
//! first, so the revision is no longer all-or-nothing.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind, TransactionControl};
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "autocommit-block-commits",
    Category::Transactions,
    Severity::Warning,
    "an Alembic autocommit_block() commits the schema changes before it; if a later step fails they stay applied",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    // Alembic front end: an autocommit block opens with a COMMIT of the revision's transaction.
    let OpKind::Transaction(TransactionControl::Commit) = ctx.op.kind else { return };
    let tx = ctx.transaction;
    if ctx.framework() != Framework::Alembic || tx.explicit || !tx.in_transaction {
        return;
    }
    let Some(changed) = tx.held.iter().filter(|h| h.mode > LockMode::RowExclusive).max_by_key(|h| h.mode) else {
        return;
    };
    let (line, _) = ctx.migration.source.line_col(changed.span.start);
    out.push(ctx.violation(
        format!(
            "`autocommit_block()` first commits this revision's transaction, including the change to `{}` on line {line} (and, in Alembic's default mode, every earlier revision of the run): if a step after it fails, those changes stay applied and the revision is half done",
            changed.relation
        ),
        "put the `autocommit_block()` steps (CREATE INDEX CONCURRENTLY and the like) in a revision of their own",
    ));
}
