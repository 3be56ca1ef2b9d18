//! json instead of jsonb.

use super::{given_types, Category, OpContext, Rule, Severity, Violation};

pub const RULE: Rule = Rule::on_op(
    "prefer-jsonb",
    Category::Design,
    Severity::Warning,
    "json has no equality operator (SELECT DISTINCT, UNION and GROUP BY fail) and cannot be indexed",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    for (table, column, ty) in given_types(&ctx.op.kind) {
        if ty.name != "json" {
            continue;
        }
        out.push(Violation::on(
            ctx.op,
            format!("`{table}.{}` is json: it has no equality operator, so SELECT DISTINCT, UNION and GROUP BY on rows containing it fail, and it cannot be indexed with GIN; converting later rewrites the table", column),
            format!("`{} jsonb`", column),
        ));
    }
}
