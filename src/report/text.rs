//! Human output: one rustc-style block per finding (source snippet, label, help), then a
//! summary line with counts and coverage.

use std::fmt::Write as _;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};

use rayon::prelude::*;

use crate::analysis::LintResult;
use crate::ir::SourceFile;
use crate::rules::{Finding, Severity};

#[derive(Debug)]
struct Rendered<'a> {
    finding: &'a Finding,
    source: NamedSource<Shared>,
}

/// The finding's file, shared with every other finding in it rather than copied for each.
#[derive(Debug)]
struct Shared(Arc<SourceFile>);

impl SourceCode for Shared {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        self.0.text_lf().read_span(span, context_lines_before, context_lines_after)
    }
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
        let len = first_line_len(self.finding.source.text_lf(), span.start, span.end);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(label, SourceSpan::new(span.start.into(), len)))))
    }
}

/// Labels only the statement's first line, so long statements do not flood the terminal.
fn first_line_len(text: &str, start: usize, end: usize) -> usize {
    let end = end.min(text.len()).max(start);
    text[start..end].find('\n').unwrap_or(end - start)
}

/// Writes the findings as they are rendered: a large project's report is tens of megabytes, so
/// findings are rendered in parallel a chunk at a time and never held as one big string.
pub fn write(result: &LintResult, color: bool, width: usize, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    const CHUNK: usize = 1024;
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
    for chunk in result.findings.chunks(CHUNK) {
        let blocks: Vec<String> = chunk.par_iter().map(|finding| render(&handler, finding)).collect();
        for block in blocks {
            out.write_all(block.as_bytes())?;
        }
    }
    out.write_all(summary(result).as_bytes())
}

fn render(handler: &GraphicalReportHandler, finding: &Finding) -> String {
    let mut block = String::new();
    let source = NamedSource::new(finding.source.display_path(), Shared(finding.source.clone()));
    if finding.source.text.is_empty() {
        let _ = writeln!(block, "{}:", finding.source.display_path());
    }
    let _ = handler.render_report(&mut block, &Rendered { finding, source });
    block.push('\n');
    block
}

fn summary(result: &LintResult) -> String {
    let mut line = super::summary_line(result);
    line.push('\n');
    line
}
