//! TRUNCATE … CASCADE: also empties every table that references the target.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "truncate-cascade",
    Category::Locks,
    Severity::Error,
    "TRUNCATE … CASCADE silently empties every table with a foreign key to the target",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::Truncate { tables, cascade: true } = &ctx.op.kind else { return };
    // The lock model lists the named tables and every table the catalog knows to reference them.
    if ctx.effects.iter().all(|e| ctx.is_new_table(&e.relation)) {
        return;
    }
    let mode = ctx.effects.iter().map(|e| e.mode).max().unwrap_or(LockMode::AccessExclusive);
    let named: Vec<String> = tables.iter().map(|t| format!("`{t}`")).collect();
    let mut also: Vec<String> =
        ctx.effects.iter().filter(|e| !tables.contains(&e.relation)).map(|e| format!("`{}`", e.relation)).collect();
    also.dedup();
    let known = if also.is_empty() { String::new() } else { format!(" (here at least {})", also.join(", ")) };
    out.push(ctx.violation(
        format!(
            "TRUNCATE … CASCADE on {} also empties every table that references it through a foreign key, recursively{known}, each under {} lock that {}",
            named.join(", "),
            with_article(mode),
            mode.blocks()
        ),
        "name every table to empty explicitly and drop CASCADE, so the statement fails instead of emptying a table nobody reviewed; better, delete the rows in batches outside the schema migration",
    ));
}
