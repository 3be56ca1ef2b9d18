//! BEGIN inside a transaction, or COMMIT or ROLLBACK inside the runner's transaction.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind, TransactionControl, TransactionMode};

pub const RULE: Rule = Rule::on_op(
    "transaction-nesting",
    Category::Transactions,
    Severity::Warning,
    "BEGIN inside an open transaction, or COMMIT or ROLLBACK inside the runner's own transaction",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Transaction(control) = &ctx.op.kind else { return };
    let tx = ctx.transaction;
    let wrapped = ctx.migration.transaction == TransactionMode::Wrapped;
    let alembic = ctx.framework() == Framework::Alembic;
    match control {
        TransactionControl::Begin if tx.in_transaction => {
            let by = if tx.explicit { "an earlier BEGIN in this file" } else { "the runner, which wraps this migration" };
            out.push(ctx.violation(
                format!("BEGIN inside a transaction already opened by {by}: PostgreSQL only warns, and the first COMMIT ends the outer transaction too"),
                "remove the inner BEGIN/COMMIT, or tell lockgate the runner does not wrap this file (`-- lockgate: transaction none`)",
            ));
        }
        // Alembic's autocommit_block() is an intended COMMIT (see autocommit-block-commits).
        TransactionControl::Commit if wrapped && !tx.explicit && tx.in_transaction && !alembic => out.push(ctx.violation(
            "COMMIT inside the runner's transaction ends it early: everything after it runs in autocommit, and the runner's own history row may land in a different transaction than the schema change",
            "remove the COMMIT, or split the migration in two",
        )),
        TransactionControl::Rollback if wrapped && !tx.explicit && tx.in_transaction => out.push(ctx.violation(
            "ROLLBACK inside the runner's transaction undoes every statement of this migration before it, and what follows runs in autocommit: the migration is applied only in part, while the runner goes on as if it had run whole",
            "remove the ROLLBACK; to undo a step on failure, let the statement fail and the runner roll the whole migration back",
        )),
        _ => {}
    }
}
