//! ALTER COLUMN … SET NOT NULL scans the whole table under ACCESS EXCLUSIVE.

use super::{takes_lock, OpContext, Rule, Severity, Violation};
use crate::ir::{Framework, OpKind};
use crate::locks::{LockMode, PgVersion, Work};

pub const RULE: Rule = Rule::on_op(
    "set-not-null-scan",
    Severity::Error,
    "SET NOT NULL scans the whole table while blocking reads and writes",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let OpKind::SetNotNull { table, column } = &ctx.op.kind else { return };
    if ctx.is_new_table(table) || ctx.work_on(table) != Some(Work::Scan) {
        return;
    }
    let pg = ctx.settings.pg_version;
    let sql_recipe = if pg >= PgVersion(18) {
        format!(
            "on PostgreSQL 18: `ALTER TABLE {table} ADD CONSTRAINT {column}_not_null NOT NULL {column} NOT VALID;` then, in a separate transaction, `ALTER TABLE {table} VALIDATE CONSTRAINT {column}_not_null;` (SHARE UPDATE EXCLUSIVE: reads and writes continue)"
        )
    } else if pg >= PgVersion(12) {
        format!(
            "`ALTER TABLE {table} ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) NOT VALID;` then, in a separate transaction, `VALIDATE CONSTRAINT {column}_not_null;`, then `SET NOT NULL` (no scan: the valid CHECK proves it) and `DROP CONSTRAINT {column}_not_null`"
        )
    } else {
        "before PostgreSQL 12 SET NOT NULL always scans; keep a validated `CHECK (col IS NOT NULL)` constraint instead of NOT NULL until you upgrade".to_string()
    };
    let help = match ctx.framework() {
        Framework::Sql => sql_recipe,
        Framework::Django => format!(
            "add `CheckConstraint(condition=Q({column}__isnull=False), ...)` with `AddConstraintNotValid`, `ValidateConstraint` in a later migration, then the AlterField to null=False ({sql_recipe})"
        ),
        Framework::Alembic => format!(
            "`op.create_check_constraint(..., postgresql_not_valid=True)`, VALIDATE it in a later revision with `op.execute`, then `op.alter_column(..., nullable=False)` ({sql_recipe})"
        ),
    };
    out.push(ctx.violation(
        format!(
            "SET NOT NULL on `{table}.{column}` scans every row to check for NULLs, and {} for the whole scan",
            takes_lock(LockMode::AccessExclusive, table)
        ),
        help,
    ));
}
