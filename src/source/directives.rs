//! `lockgate:` comments in migration files: ignores, and the per-file transaction override.
//! The same forms are read from SQL (`--`) and Python (`#`) comments.

use std::ops::Range;

use crate::ir::{Ignore, Problem, ProblemKind, Span};

#[derive(Debug, Default)]
pub struct Directives {
    pub ignores: Vec<Ignore>,
    /// `lockgate: transaction wrapped|none`.
    pub transaction_override: Option<bool>,
    /// Malformed directives: where, and what is wrong.
    pub bad: Vec<(Span, String)>,
}

/// Reads the directives in `text[range]`, in comments that start with `marker`. `statements`
/// are the spans of the statements (or operations) with their index, in file order.
pub fn read(text: &str, range: Range<usize>, marker: &str, statements: &[(Span, usize)]) -> Directives {
    let mut found = Directives::default();
    let section = &text[range.clone()];
    if !section.contains("lockgate:") {
        return found;
    }
    let mut offset = range.start;
    for line in crate::ir::lines_with_endings(section) {
        let line_start = offset;
        offset += line.len();
        let Some(comment_at) = line.find(marker) else { continue };
        let comment = line[comment_at + marker.len()..].trim();
        let Some(directive) = comment.strip_prefix("lockgate:") else { continue };
        let span = Span::new(line_start + comment_at, line_start + line.trim_end().len());
        match parse(directive.trim()) {
            Ok(Directive::Ignore { rules, reason, file }) => {
                let statement = if file { None } else { statement_for(statements, line_start, span.start) };
                if !file && statement.is_none() {
                    found.bad.push((span, "this ignore comment is not on or above any statement".into()));
                    continue;
                }
                found.ignores.push(Ignore { rules, reason, span, statement });
            }
            Ok(Directive::Transaction(wrapped)) => found.transaction_override = Some(wrapped),
            Err(message) => found.bad.push((span, message)),
        }
    }
    found
}

/// A malformed directive, as the problem reported under `invalid-directive`.
pub fn problem((span, message): (Span, String)) -> Problem {
    Problem {
        kind: ProblemKind::InvalidDirective,
        span,
        message,
        help: "see `lockgate explain invalid-directive` for the forms lockgate reads".into(),
    }
}

/// The statement on the comment's line, else the first one that starts after it.
fn statement_for(statements: &[(Span, usize)], line_start: usize, comment_start: usize) -> Option<usize> {
    let on_line = statements.iter().rev().find(|(s, _)| s.start <= comment_start && s.end >= line_start);
    let below = || statements.iter().find(|(s, _)| s.start >= comment_start);
    on_line.or_else(below).map(|(_, index)| *index)
}

enum Directive {
    Ignore { rules: Vec<String>, reason: Option<String>, file: bool },
    Transaction(bool),
}

/// Parses the text after `lockgate:`.
fn parse(directive: &str) -> Result<Directive, String> {
    let (head, reason) = match directive.split_once("--") {
        Some((head, reason)) => (head.trim(), Some(reason.trim().to_string()).filter(|r| !r.is_empty())),
        None => (directive.trim(), None),
    };
    let (word, rest) = head.split_once(char::is_whitespace).unwrap_or((head, ""));
    match word {
        "ignore" | "ignore-file" => {
            let rules: Vec<String> = rest.split(',').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
            if rules.is_empty() {
                return Err(format!(
                    "`lockgate: {word}` needs the rule ids to ignore, e.g. `lockgate: {word} drop-column -- why`"
                ));
            }
            Ok(Directive::Ignore { rules, reason, file: word == "ignore-file" })
        }
        "transaction" => match rest.trim() {
            "wrapped" => Ok(Directive::Transaction(true)),
            "none" => Ok(Directive::Transaction(false)),
            other => Err(format!("`lockgate: transaction` takes `wrapped` or `none`, not `{other}`")),
        },
        other => {
            Err(format!("unknown lockgate directive `{other}`; expected `ignore`, `ignore-file` or `transaction`"))
        }
    }
}
