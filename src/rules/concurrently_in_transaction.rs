//! A CONCURRENTLY statement inside a transaction block: PostgreSQL refuses to run it.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "concurrently-in-transaction",
    Category::Locks,
    Severity::Error,
    "CONCURRENTLY statements cannot run inside a transaction block; the migration fails mid-deploy",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let statement = match &ctx.op.kind {
        OpKind::CreateIndex { concurrently: true, .. } => "CREATE INDEX CONCURRENTLY",
        OpKind::DropIndex { concurrently: true, .. } => "DROP INDEX CONCURRENTLY",
        OpKind::Reindex { concurrently: true, .. } => "REINDEX CONCURRENTLY",
        OpKind::DetachPartition { concurrently: true, .. } => "DETACH PARTITION CONCURRENTLY",
        _ => return,
    };
    let tx = ctx.transaction;
    if !tx.in_transaction {
        return;
    }
    let why = if tx.explicit {
        "the file opened a transaction with BEGIN".to_string()
    } else {
        "the runner wraps this migration in a transaction".to_string()
    };
    let help = match ctx.framework() {
        Framework::Django => "set `atomic = False` on the Migration class and keep this operation in a migration of its own".to_string(),
        Framework::Alembic => "run it inside `with op.get_context().autocommit_block():`".to_string(),
        Framework::Sql => "move it to a migration of its own that runs outside a transaction (dbmate `-- migrate:up transaction:false`, goose `-- +goose NO TRANSACTION`, diesel `run_in_transaction = false`, golang-migrate: make it the file's only statement); if your runner does not wrap files, add `-- lockgate: transaction none` at the top of the file or set `[sql] assume_in_transaction = false`".to_string(),
    };
    // It fails, or breaks the application, on a table of any size: no live size makes it fine.
    let message = format!("{statement} cannot run inside a transaction block, and {why}: PostgreSQL rejects it with \"cannot run inside a transaction block\" and the migration fails");
    out.push(ctx.violation(message, help).at_any_size());
}
