//! CHECK constraints on domains: validated against every column that uses the domain.

use super::{with_article, Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;
use crate::postgres::LockMode;

pub const RULE: Rule = Rule::on_op(
    "domain-constraint",
    Category::Locks,
    Severity::Warning,
    "a CHECK on a domain is validated against every table column of that domain, under SHARE locks",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let message = match &ctx.op.kind {
        OpKind::CreateDomain { name, has_check: true } => format!(
            "domain `{name}` carries a CHECK: adding a column of type `{name}` to an existing table rewrites the table under ACCESS EXCLUSIVE, and every later constraint added to the domain scans every column that uses it while blocking writes to those tables"
        ),
        // The lock table names every table with a column of the domain (or, knowing none, the
        // domain itself).
        OpKind::AlterDomainAddConstraint { name, not_valid: false } => {
            let mode = ctx.effects.iter().map(|e| e.mode).max().unwrap_or(LockMode::Share);
            format!(
                "adding a constraint to domain `{name}` scans every table column of that type, taking {} lock on each table ({}) for the whole scan",
                with_article(mode),
                mode.blocks()
            )
        }
        _ => return,
    };
    out.push(ctx.violation(
        message,
        "put the CHECK on the table columns instead (`ADD CONSTRAINT … CHECK (…) NOT VALID`, then `VALIDATE CONSTRAINT`, which scans under SHARE UPDATE EXCLUSIVE); on a domain, `ADD CONSTRAINT … NOT VALID` is catalog-only, but `ALTER DOMAIN … VALIDATE CONSTRAINT` still blocks writes for its scan through PostgreSQL 18",
    ));
}
