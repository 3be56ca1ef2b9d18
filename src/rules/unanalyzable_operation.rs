//! Code whose effect static analysis cannot see: DO blocks, procedure calls, RunPython.

use super::{Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const ID: &str = "unanalyzable-operation";

pub const RULE: Rule = Rule::on_op(
    ID,
    Category::Coverage,
    Severity::Info,
    "procedural code (DO block, CALL, RunPython) whose locks lockgate cannot see",
    check,
);

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    if let OpKind::Opaque { what } = &ctx.op.kind {
        out.push(Violation::on(
            ctx.op,
            format!("{what}: lockgate cannot see which statements this runs or which locks they take"),
            "review it by hand; where you can, write the statements it runs as plain SQL so they are checked",
        ));
    }
}
