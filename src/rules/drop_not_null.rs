//! DROP NOT NULL: code may not expect NULLs, and re-adding NOT NULL later needs a scan.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "drop-not-null",
    Category::Compatibility,
    Severity::Info,
    "dropping NOT NULL lets NULLs in that running code may not handle; undoing it needs a full scan",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DropNotNull { table, column, .. } = &ctx.op.kind else { return };
    // A column the catalog knows to be nullable already: nothing changes.
    let nullable = ctx.catalog.table(table).and_then(|t| t.column(column)).is_some_and(|c| !c.not_null);
    if ctx.is_new_table(table) || nullable {
        return;
    }
    out.push(ctx.violation(
        format!("after this, `{table}.{column}` may hold NULLs: readers deployed before it may not expect them, and rolling back (SET NOT NULL) scans the whole table under ACCESS EXCLUSIVE"),
        "make sure every reader handles NULL before dropping the constraint; to roll back, use the CHECK … NOT VALID + VALIDATE recipe instead of SET NOT NULL",
    ));
}
