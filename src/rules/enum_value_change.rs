//! ALTER TYPE … ADD VALUE / RENAME VALUE hazards.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::Feature;

pub const RULE: Rule = Rule::on_op(
    "enum-value-change",
    Category::Locks,
    Severity::Warning,
    "enum changes that fail in a transaction (before PG 12), reorder comparisons, or rename values clients use",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    match &ctx.op.kind {
        OpKind::AddEnumValue { name, value, positioned } => {
            if ctx.transaction.in_transaction && !ctx.settings.pg_version.supports(Feature::AddEnumValueInTransaction) {
                out.push(
                    ctx.violation(
                        format!("`ALTER TYPE {name} ADD VALUE` cannot run inside a transaction block before PostgreSQL 12: the migration fails"),
                        "run it in a migration of its own, outside a transaction",
                    )
                    .with_severity(Severity::Error),
                );
            } else if !positioned {
                out.push(ctx.violation(
                    format!("`ADD VALUE '{value}'` appends to the end of `{name}`: enum values compare by position, so ORDER BY and `<` on this type may no longer match what the code expects"),
                    format!("say where it belongs: `ALTER TYPE {name} ADD VALUE '{value}' BEFORE '…'` or `AFTER '…'`; note the new value cannot be used until the transaction that added it commits"),
                ));
            }
        }
        OpKind::RenameEnumValue { name } => out.push(ctx.violation(
            format!("renaming a value of `{name}` breaks every running client and stored query that still uses the old spelling"),
            "add the new value, migrate rows to it in batches, deploy code that uses it, and only then stop using the old one",
        )),
        _ => {}
    }
}
