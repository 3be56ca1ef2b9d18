//! TRUNCATE in a migration: ACCESS EXCLUSIVE and every row gone.

use super::{takes_lock, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::locks::LockMode;

pub const RULE: Rule =
    Rule::on_op("truncate", Severity::Warning, "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock", check);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Truncate { tables, cascade: false } = &ctx.op.kind else { return };
    let Some(table) = tables.iter().find(|t| !ctx.is_new_table(t)) else { return };
    out.push(ctx.violation(
        format!("TRUNCATE empties `{table}` and {}; its data cannot be recovered without a backup", takes_lock(LockMode::AccessExclusive, table)),
        "if the rows must go, delete them in batches (`DELETE … WHERE id BETWEEN …`) outside the schema migration; if this is test data, keep it out of production migrations",
    ));
}
