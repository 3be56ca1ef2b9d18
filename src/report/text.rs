//! Human output: one rustc-style block per finding (source snippet, label, help), then a
//! summary line with counts and coverage.

use std::fmt::Write;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use crate::analysis::LintResult;
use crate::rules::{Finding, Severity};

#[derive(Debug)]
struct Rendered<'a> {
    finding: &'a Finding,
    source: NamedSource<String>,
}

impl std::fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.finding.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.finding.help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        (!self.finding.source.text.is_empty()).then_some(&self.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.finding.source.text.is_empty() {
            return None;
        }
        let span = self.finding.span;
        let label = self.finding.lock.as_ref().map(|lock| format!("takes {lock}"));
        let len = first_line_len(&self.finding.source.text, span.start, span.end);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(label, SourceSpan::new(span.start.into(), len)))))
    }
}

/// Labels only the statement's first line, so long statements do not flood the terminal.
fn first_line_len(text: &str, start: usize, end: usize) -> usize {
    let end = end.min(text.len()).max(start);
    text[start..end].find('\n').unwrap_or(end - start)
}

pub fn render(result: &LintResult, color: bool, width: usize) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
    let mut out = String::new();
    for finding in &result.findings {
        let rendered =
            Rendered { finding, source: NamedSource::new(finding.source.display_path(), finding.source.text.clone()) };
        if finding.source.text.is_empty() {
            let _ = writeln!(out, "{}:", finding.source.display_path());
        }
        let _ = handler.render_report(&mut out, &rendered);
        out.push('\n');
    }
    out.push_str(&summary(result));
    out
}

fn summary(result: &LintResult) -> String {
    let mut line = super::summary_line(result);
    line.push('\n');
    line
}
