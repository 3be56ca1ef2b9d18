//! Identifiers longer than 63 bytes, which PostgreSQL truncates with only a NOTICE.

use super::{declared_columns, Category, OpContext, Rule, Severity, Violation};
use crate::ir::OpKind;

pub const RULE: Rule = Rule::on_op(
    "identifier-too-long",
    Category::Design,
    Severity::Warning,
    "names longer than 63 bytes are truncated, so two of them can collide and tools comparing names see a different one",
    check,
);

const MAX_IDENTIFIER_BYTES: usize = 63;

fn check(ctx: &OpContext, out: &mut Vec<Violation>) {
    let mut names: Vec<&str> = declared_columns(&ctx.op.kind).into_iter().map(|(_, c)| c.name.as_str()).collect();
    match &ctx.op.kind {
        OpKind::CreateTable { table, .. } | OpKind::CreateTableAs { table, .. } => names.push(&table.name),
        OpKind::CreateIndex { name: Some(name), .. }
        | OpKind::RenameTable { new_name: name, .. }
        | OpKind::RenameColumn { new_name: name, .. }
        | OpKind::RenameIndex { new_name: name, .. } => names.push(name),
        OpKind::AddConstraint { constraint, .. } => names.extend(constraint.name.as_deref()),
        _ => {}
    }
    let text = ctx.migration.source.text.get(ctx.op.span.start..ctx.op.span.end).unwrap_or_default();
    let mut reported: Vec<String> = vec![];
    for name in names {
        // The SQL parser already truncates names, as the server does: the full spelling is in
        // the source. Names from Django reach the IR whole.
        let full = if name.len() > MAX_IDENTIFIER_BYTES {
            Some(name.to_string())
        } else if name.len() + 3 >= MAX_IDENTIFIER_BYTES {
            identifiers(text).into_iter().find(|t| t.len() > MAX_IDENTIFIER_BYTES && t.starts_with(name))
        } else {
            None
        };
        let Some(full) = full.filter(|f| !reported.contains(f)) else { continue };
        out.push(Violation::on(
            ctx.op,
            format!(
                "`{full}` is {} bytes; PostgreSQL truncates it to `{}` with only a NOTICE: another name with the same first {MAX_IDENTIFIER_BYTES} bytes collides with it, and tools that compare names (ORM introspection, schema diffs) no longer find the one they declared",
                full.len(),
                truncated(&full)
            ),
            format!("use a name of at most {MAX_IDENTIFIER_BYTES} bytes"),
        ));
        reported.push(full);
    }
}

/// The first 63 bytes, cut at a character boundary (as PostgreSQL does).
fn truncated(name: &str) -> &str {
    let mut cut = MAX_IDENTIFIER_BYTES.min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    &name[..cut]
}

/// The identifiers in a statement's text as the server sees them: unquoted ones folded to
/// lower case, quoted ones as written; string literals and comments skipped.
fn identifiers(text: &str) -> Vec<String> {
    let mut out = vec![];
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                // A string literal; '' inside it is an escaped quote and simply reopens it.
                for (_, c) in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
            }
            '-' if text[i..].starts_with("--") => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if text[i..].starts_with("/*") => {
                let end = text[i + 2..].find("*/").map_or(text.len(), |e| i + 2 + e + 2);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            '"' => {
                let mut name = String::new();
                while let Some((_, c)) = chars.next() {
                    if c == '"' {
                        if chars.peek().is_some_and(|(_, n)| *n == '"') {
                            chars.next();
                            name.push('"');
                            continue;
                        }
                        break;
                    }
                    name.push(c);
                }
                out.push(name);
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name: String = c.to_lowercase().collect();
                while let Some((_, n)) = chars.peek().copied() {
                    if !(n.is_alphanumeric() || n == '_' || n == '$') {
                        break;
                    }
                    name.extend(n.to_lowercase());
                    chars.next();
                }
                out.push(name);
            }
            _ => {}
        }
    }
    out
}
