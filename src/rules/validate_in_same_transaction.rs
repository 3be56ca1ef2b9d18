//! VALIDATE CONSTRAINT in the same transaction that added the constraint NOT VALID.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "validate-in-same-transaction",
    Category::Locks,
    Severity::Error,
    "VALIDATE CONSTRAINT in the transaction that added it NOT VALID keeps the strong lock for the whole validation",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::ValidateConstraint { table, name } = &ctx.op.kind else { return };
    let tx = ctx.transaction;
    if !tx.in_transaction {
        return;
    }
    let added_here = tx.not_valid_in_transaction.iter().any(|(t, n)| t == table && n == name);
    let held = tx
        .held
        .iter()
        .filter(|h| &h.relation == table && h.mode > LockMode::ShareUpdateExclusive)
        .max_by_key(|h| h.mode);
    if !added_here && held.is_none() {
        return;
    }
    let mode = held.map_or(LockMode::AccessExclusive, |h| h.mode);
    if ctx.is_new_table(table) {
        return;
    }
    out.push(ctx.violation(
        format!(
            "VALIDATE CONSTRAINT `{name}` runs in the same transaction that already holds {mode} on `{table}` ({}); that lock stays held for the whole validation scan, so NOT VALID gained nothing",
            mode.blocks()
        ),
        "commit after adding the constraint NOT VALID and validate it in a separate transaction — with runners that wrap each file in a transaction, that means a separate migration",
    ));
}
