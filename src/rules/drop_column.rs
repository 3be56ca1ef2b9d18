//! DROP COLUMN: data loss, and errors in code that still selects the column.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind, QualifiedName};

pub const RULE: Rule = Rule::on_op(
    "drop-column",
    Category::Compatibility,
    Severity::Warning,
    "dropping a column loses its data and breaks code that still reads or writes it",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::DropColumn { table, column, .. } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => "first deploy code that no longer uses the field (remove it from the model, with the migration's RemoveField inside `SeparateDatabaseAndState(state_operations=[…])`), then drop the column in a later migration".to_string(),
        Framework::Alembic => "first deploy code that no longer uses the column (remove it from the SQLAlchemy model), then `op.drop_column` in a later revision".to_string(),
        Framework::Sql => format!("first deploy code that no longer reads or writes `{column}`, then drop it in a later release (the contract phase); the data is gone afterwards, so back it up if in doubt"),
    };
    let others: Vec<&QualifiedName> =
        ctx.effects.iter().map(|e| &e.relation).filter(|relation| *relation != table).collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(", and {} too (a foreign key on the column goes with it)", ctx.locks_on(others))
    };
    out.push(ctx.violation(
        format!("dropping `{table}.{column}` deletes its data, and application code deployed before this migration that still selects or inserts `{column}` fails until it is replaced; the drop itself is a quick catalog change under {}{also}", ctx.locks_on([table])),
        help,
    ));
}
