//! A statement lockgate could not parse, and so could not check.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "parse-error",
    Category::Coverage,
    Severity::Error,
    "a statement or file that could not be parsed, so nothing in it was checked",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    if let OpKind::Unparsed { reason } = &ctx.op.kind {
        out.push(Violation::on(
            ctx.op,
            format!("lockgate could not analyze this: {reason}"),
            "fix the syntax; for templated SQL, map the template variables in `[sql] placeholders` of lockgate.toml",
        ));
    }
}
