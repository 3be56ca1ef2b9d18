//! RENAME COLUMN: every running version of the application still uses the old name.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};

pub const RULE: Rule = Rule::on_op(
    "rename-column",
    Category::Compatibility,
    Severity::Warning,
    "renaming a column breaks every running application version that still uses the old name",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::RenameColumn { table, column, new_name, .. } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) {
        return;
    }
    let help = match ctx.framework() {
        Framework::Django => format!(
            "keep the column's name: set `db_column=\"{column}\"` on the field, then rename the field; with the column name pinned neither operation runs SQL (or rename the field only in `SeparateDatabaseAndState(state_operations=[…])`)"
        ),
        Framework::Alembic => format!(
            "keep the database name and map the new attribute to it (`{new_name} = Column(\"{column}\", …)`), or add `{new_name}`, write both columns, backfill, and drop `{column}` in a later revision"
        ),
        Framework::Sql => format!(
            "add `{new_name}`, write both columns (trigger or application), backfill, move readers over, then drop `{column}` in a later release"
        ),
    };
    out.push(ctx.violation(
        format!("renaming `{table}.{column}` to `{new_name}` is a quick catalog change under {}, but application code deployed before this migration still reads and writes `{column}` and fails until it is replaced", ctx.mode_on(table)),
        help,
    ));
}
