//! TRUNCATE … CASCADE: also empties every table that references the target.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "truncate-cascade",
    Severity::Error,
    "TRUNCATE … CASCADE silently empties every table with a foreign key to the target",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Truncate { tables, cascade: true } = &ctx.op.kind else { return };
    let names: Vec<String> = tables.iter().map(ToString::to_string).collect();
    out.push(ctx.violation(
        format!(
            "TRUNCATE … CASCADE on {} also empties every table that references it, recursively, each under an ACCESS EXCLUSIVE lock",
            names.join(", ")
        ),
        "name every table to truncate explicitly, without CASCADE, so a review sees exactly what is emptied",
    ));
}
