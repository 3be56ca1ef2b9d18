//! CHECK constraints on domains: validated against every column that uses the domain.

use super::{OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "domain-constraint",
    Severity::Warning,
    "a CHECK on a domain is validated against every table column of that domain, under SHARE locks",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let message = match &ctx.op.kind {
        OpKind::CreateDomain { name, has_check: true } => format!(
            "domain `{name}` carries a CHECK: every later ADD COLUMN or type change to `{name}` must check (and may rewrite) the whole table, and changing the CHECK scans every column that uses it"
        ),
        OpKind::AlterDomainAddConstraint { name, not_valid: false } => format!(
            "adding a constraint to domain `{name}` scans every table column of that type, each under a SHARE lock that blocks writes"
        ),
        _ => return,
    };
    out.push(ctx.violation(
        message,
        "put the CHECK on the table columns instead (`ADD CONSTRAINT … CHECK (…) NOT VALID` + `VALIDATE`), or add the domain constraint NOT VALID and validate it separately",
    ));
}
