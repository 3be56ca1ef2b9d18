//! char(n): blank-padded, no faster, and awkward to change.

use super::{given_types, Category, OpContext, Rule, Severity, Violation};

pub const RULE: Rule = Rule::on_op(
    "ban-char-type",
    Category::Design,
    Severity::Info,
    "char(n) pads with blanks, is no faster than text, and any change to it rewrites the table",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    for (table, column, ty) in given_types(&ctx.op.kind) {
        if ty.name != "char" {
            continue;
        }
        out.push(Violation::on(
            ctx.op,
            format!("`{table}.{}` is {}: values are blank-padded, comparisons ignore trailing spaces, and changing the length later rewrites the table", column, ty),
            format!("`{} text` (with a CHECK on length if it matters)", column),
        ));
    }
}
