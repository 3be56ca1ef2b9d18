//! varchar(n) instead of text with a CHECK on its length.

use super::{declared_columns, OpContext, Rule, Severity, Violation};
use crate::ir::Framework;

pub const RULE: Rule = Rule::on_op(
    "prefer-text",
    Severity::Info,
    "varchar(n) limits can only be shrunk with a rewrite; text with a CHECK on length is easier to change",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    // A Django CharField is always varchar(max_length): the advice has nothing to act on.
    if ctx.framework() == Framework::Django {
        return;
    }
    for (table, column) in declared_columns(&ctx.op.kind) {
        if column.ty.name != "varchar" || column.ty.modifiers.is_empty() {
            continue;
        }
        out.push(Violation::on(
            ctx.op,
            format!("`{table}.{}` is {}: raising the limit is cheap, but lowering it or converting back from text rewrites the table", column.name, column.ty),
            format!("`{} text` with `CHECK (char_length({}) <= {})`, which can be replaced with NOT VALID + VALIDATE without a rewrite", column.name, column.name, column.ty.modifiers[0]),
        ));
    }
}
