//! varchar(n) instead of text with a CHECK on its length.

use super::{given_types, Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "prefer-text",
    Category::Design,
    Severity::Info,
    "varchar(n) limits can only be shrunk with a rewrite; text with a CHECK on length is easier to change",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    // A Django CharField is always varchar(max_length): the advice has nothing to act on.
    if ctx.framework() == Framework::Django {
        return;
    }
    for (table, column, ty) in given_types(&ctx.op.kind) {
        if ty.name != "varchar" || ty.modifiers.is_empty() {
            continue;
        }
        // Raising the limit of a column already varchar(n) is the cheap change this advice
        // itself points to: nothing to add.
        let old = ctx.catalog.table(table).and_then(|t| t.column(column)).map(|c| &c.ty);
        if matches!(ctx.op.kind, OpKind::AlterColumnType { .. }) && old.is_some_and(|old| old.name == "varchar") {
            continue;
        }
        out.push(Violation::on(
            ctx.op,
            format!("`{table}.{}` is {}: raising the limit is cheap, but lowering it or converting back from text rewrites the table", column, ty),
            format!("`{} text` with `CHECK (char_length({}) <= {})`, which can be replaced with NOT VALID + VALIDATE without a rewrite", column, column, ty.modifiers[0]),
        ));
    }
}
