//! ADD CONSTRAINT … EXCLUDE builds an index and checks every row under ACCESS EXCLUSIVE.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{ConstraintKind, OpKind};

pub const RULE: Rule = Rule::on_op(
    "add-exclusion-constraint",
    Category::Locks,
    Severity::Error,
    "adding an exclusion constraint builds its index and checks every row while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::AddConstraint { table, constraint, .. } = &ctx.op.kind else { return };
    if constraint.kind != ConstraintKind::Exclusion || ctx.is_new_table(table) {
        return;
    }
    out.push(ctx.violation(
        format!(
            "adding an exclusion constraint to `{table}` builds its index and probes it for every row, and {} throughout; there is no NOT VALID or USING INDEX form",
            ctx.takes_lock_on(table)
        ),
        "create the constraint on a new table and move the rows over in batches, or add it while the table is small; otherwise schedule it in a maintenance window with a lock_timeout",
    ));
}
