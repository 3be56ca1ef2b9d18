//! A migration's file as read: its text, where its lines start, and spans into it.

use std::path::PathBuf;

use serde::Serialize;

/// A source file as read from disk, kept for snippets and line/column mapping.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the working directory when possible).
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// `path` as shown, made once: every finding in the file names it.
    shown: String,
    /// For a file with lines ended by a lone `\r`: the text with those as `\n` (same length, so
    /// offsets hold), for readers that only break lines at `\n`.
    lf_text: Option<String>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let line_starts = line_starts(&text);
        // `Path::display` goes through `fmt` and checks the bytes chunk by chunk; nearly every
        // path is UTF-8 already.
        let shown = path.to_str().map_or_else(|| path.display().to_string(), str::to_owned);
        let lone_cr = memchr::memchr_iter(b'\r', text.as_bytes()).any(|i| text.as_bytes().get(i + 1) != Some(&b'\n'));
        let lf_text = lone_cr.then(|| {
            let mut bytes = text.clone().into_bytes();
            for i in 0..bytes.len() {
                if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                    bytes[i] = b'\n';
                }
            }
            String::from_utf8(bytes).unwrap_or_default()
        });
        SourceFile { path, text, line_starts, shown, lf_text }
    }

    /// The text with each lone `\r` written as `\n` (same length, so offsets hold): what Python
    /// reads (universal newlines), and what snippet renderers expect.
    pub fn text_lf(&self) -> &str {
        self.lf_text.as_deref().unwrap_or(&self.text)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    pub fn display_path(&self) -> &str {
        &self.shown
    }
}

/// The byte offset where each line of `text` begins. A line ends at `\n`, `\r\n` or a lone `\r`,
/// as PostgreSQL's scanner, Python and editors read them.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let breaks =
        memchr::memchr2_iter(b'\n', b'\r', bytes).filter(|&i| !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')));
    std::iter::once(0).chain(breaks.map(|i| i + 1)).collect()
}

/// The lines of `text`, each with its line ending (see [`line_starts`]).
pub fn lines_with_endings(text: &str) -> impl Iterator<Item = &str> {
    let starts = line_starts(text);
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain(std::iter::once(text.len())).collect();
    starts.into_iter().zip(ends).filter(|(start, end)| start < end).map(move |(start, end)| &text[start..end])
}

/// A byte range in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }
}
