//! timestamp without time zone.

use super::{given_types, Category, OpContext, Rule, Severity, Violation};

pub const RULE: Rule = Rule::on_op(
    "prefer-timestamptz",
    Category::Design,
    Severity::Info,
    "timestamp without time zone drops the offset; converting later may rewrite the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    for (table, column, ty) in given_types(&ctx.op.kind) {
        if ty.name != "timestamp" {
            continue;
        }
        out.push(Violation::on(
            ctx.op,
            format!("`{table}.{}` is timestamp without time zone: values are stored without their offset, and converting to timestamptz later rewrites the table under ACCESS EXCLUSIVE unless the session time zone is UTC (PostgreSQL 12+)", column),
            format!("`{} timestamptz`", column),
        ));
    }
}
