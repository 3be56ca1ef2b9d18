//! The SQL loader: text → statements with exact spans → ops.
//!
//! psql meta-commands and COPY data are blanked out first (same length, so offsets hold),
//! configured placeholders are substituted (with an offset map back to the original), then
//! the text goes to PostgreSQL's own parser. A file that does not parse as a whole is split
//! with PostgreSQL's scanner and parsed statement by statement, so one bad statement does not
//! hide the rest: each one that fails becomes an `Unparsed` op at its location.
//!
//! [`pgparse`] is the parser (text → parse tree) and [`lower`] maps its trees to ops.

pub mod lower;
pub mod pgparse;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use crate::ir::{Op, OpKind, Span};
use crate::source::directives;
use lower::lower_statement;

/// What the SQL loader produced for one piece of text.
#[derive(Debug, Default)]
pub struct LoadedSql {
    pub ops: Vec<Op>,
    pub meta_commands: usize,
    /// Uses of psql variables (`:name`, `:'name'`, `:"name"`) replaced by their `\set` value.
    pub psql_variables: usize,
    /// Template expressions (`{{ … }}`) read as names.
    pub templates: usize,
    pub statements: usize,
    /// The `-- lockgate:` comments: ignores, a transaction override, malformed ones.
    pub directives: directives::Directives,
}

/// Literal text substitutions applied before parsing, for templated SQL.
pub type Placeholders = [(String, String)];

/// Loads the statements of `text[range]`; spans are offsets into `text`.
pub fn load(text: &str, range: Range<usize>, placeholders: &Placeholders, first_statement: usize) -> LoadedSql {
    let section = &text[range.clone()];
    let (substituted, map, templates) = substitute(section, placeholders);
    let Blanked { clean, meta_commands, semicolons, nested_semicolons, variables } = blank_psql_only(&substituted);
    let mut loaded =
        LoadedSql { meta_commands, psql_variables: variables.replacements.len(), templates, ..LoadedSql::default() };
    // Offsets in `clean` → in the placeholder-substituted text → in the file.
    let original = |offset: usize| range.start + map.original(variables.original(offset));

    let mut spans: Vec<(Span, usize)> = vec![];
    for (piece, result) in parse_pieces(&clean, &semicolons, &nested_semicolons) {
        let cleaned = trimmed_span(&clean, piece);
        if cleaned.start >= cleaned.end {
            continue;
        }
        let span = Span::new(original(cleaned.start), original(cleaned.end));
        let statement = first_statement + spans.len();
        // What the runner sends is the text after substitution, not the text at the span.
        let substituted_here = variables.touches(cleaned.start, cleaned.end)
            || map.touches(variables.original(cleaned.start), variables.original(cleaned.end));
        let sent: Option<Arc<str>> = substituted_here.then(|| Arc::from(&clean[cleaned.start..cleaned.end]));
        let op = |kind| Op { embedded_sql: sent.clone(), ..Op::new(kind, span, statement) };
        match result {
            Ok(kinds) => loaded.ops.extend(kinds.into_iter().map(op)),
            Err(reason) => loaded.ops.push(Op::new(OpKind::Unparsed { reason }, span, statement)),
        }
        spans.push((span, statement));
    }
    loaded.statements = spans.len();
    loaded.directives = directives::read(text, range, "--", &spans);
    loaded
}

/// A statement's range in the cleaned text, and its ops or the parser's complaint.
type Piece = (Range<usize>, Result<Vec<OpKind>, String>);

/// Parses the whole text at once; on failure, statement by statement.
fn parse_pieces(clean: &str, semicolons: &[usize], nested: &[(usize, i32)]) -> Vec<Piece> {
    if clean.trim().is_empty() {
        return vec![];
    }
    match pgparse::parse_for_lowering(clean) {
        Ok(parsed) => parsed
            .stmts
            .iter()
            .map(|raw| {
                let start = raw.stmt_location.max(0) as usize;
                let end = if raw.stmt_len == 0 { clean.len() } else { start + raw.stmt_len as usize };
                (start..end.min(clean.len()), Ok(lower_statement(raw)))
            })
            .collect(),
        Err(_) => parse_one_by_one(clean, semicolons, nested),
    }
}

/// Parses each `;`-terminated piece on its own. The boundaries come from lockgate's own lexer
/// pass, which (unlike PostgreSQL's scanner split) keeps pieces that do not parse.
///
/// An unclosed `(` makes every later `;` look nested, so the rest of the file would be one
/// piece. A piece that does not parse is therefore taken to end at its first nested `;`, and
/// what follows is split again with that `;`'s depth as the top level: the loader
/// re-synchronises at the next statement, so one typo does not hide the hazards after it. A
/// piece that parses keeps its nested semicolons (`CREATE RULE … DO (…; …)`).
fn parse_one_by_one(clean: &str, semicolons: &[usize], nested: &[(usize, i32)]) -> Vec<Piece> {
    let mut pieces = vec![];
    // Pieces still to parse, the next one last; a work list rather than recursion, so a file
    // of many unclosed parentheses cannot exhaust the stack.
    let mut todo: Vec<Range<usize>> = split(0..clean.len(), semicolons.iter().copied());
    todo.reverse();
    while let Some(range) = todo.pop() {
        if clean[range.clone()].trim().is_empty() {
            continue;
        }
        let result = parse_piece(&clean[range.clone()]);
        let inside = &nested[nested.partition_point(|(at, _)| *at < range.start)..];
        let inside = &inside[..inside.partition_point(|(at, _)| *at < range.end)];
        match (result, inside.first()) {
            (Err(_), Some(&(cut, depth))) => {
                let rest = cut + 1..range.end;
                let level = inside.iter().filter(|(_, d)| *d <= depth).map(|(at, _)| *at).filter(|at| *at > cut);
                todo.extend(split(rest, level).into_iter().rev());
                todo.push(range.start..cut);
            }
            (result, _) => pieces.push((range, result)),
        }
    }
    pieces
}

/// `range` cut at the semicolons in it.
fn split(range: Range<usize>, semicolons: impl Iterator<Item = usize>) -> Vec<Range<usize>> {
    let mut start = range.start;
    let mut parts: Vec<Range<usize>> = semicolons
        .map(|end| {
            let part = start..end;
            start = end + 1;
            part
        })
        .collect();
    parts.push(start..range.end);
    parts
}

fn parse_piece(piece: &str) -> Result<Vec<OpKind>, String> {
    pgparse::parse_for_lowering(piece).map(|parsed| parsed.stmts.iter().flat_map(lower_statement).collect())
}

/// Shrinks a statement's range past leading whitespace and comments and trailing whitespace
/// and semicolons, so spans point at the statement itself.
fn trimmed_span(text: &str, range: Range<usize>) -> Span {
    let bytes = text.as_bytes();
    let (mut start, mut end) = (range.start, range.end.min(text.len()));
    loop {
        while start < end && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        if text[start..end].starts_with("--") {
            start = text[start..end].find(['\n', '\r']).map_or(end, |i| start + i + 1);
        } else if text[start..end].starts_with("/*") {
            start = text[start..end].find("*/").map_or(end, |i| start + i + 2);
        } else {
            break;
        }
    }
    while end > start && (bytes[end - 1].is_ascii_whitespace() || bytes[end - 1] == b';') {
        end -= 1;
    }
    Span::new(start, end)
}

/// Maps offsets in substituted text back to the original.
#[derive(Debug, Default, PartialEq)]
struct OffsetMap {
    replacements: Vec<Replacement>,
}

#[derive(Debug, PartialEq)]
struct Replacement {
    new_start: usize,
    new_len: usize,
    old_start: usize,
    old_len: usize,
}

impl OffsetMap {
    /// Does a replacement overlap `start..end` of the substituted text?
    fn touches(&self, start: usize, end: usize) -> bool {
        // In order and apart: the first that ends after `start` is the only one that may.
        let first = self.replacements.partition_point(|r| r.new_start + r.new_len <= start);
        self.replacements.get(first).is_some_and(|r| r.new_start < end)
    }

    fn original(&self, offset: usize) -> usize {
        let index = self.replacements.partition_point(|r| r.new_start <= offset);
        let Some(r) = index.checked_sub(1).map(|i| &self.replacements[i]) else { return offset };
        if offset < r.new_start + r.new_len {
            r.old_start
        } else {
            r.old_start + r.old_len + (offset - r.new_start - r.new_len)
        }
    }
}

/// The text with the configured placeholders replaced, and template expressions (`{{ … }}`,
/// which Go templates, Jinja and Mustache render before PostgreSQL sees the file) read as
/// names: in code, a quoted identifier spelling the template; inside a quoted identifier, its
/// text. Inside literals and comments a template changes nothing the analysis reads, so it
/// stays. Returns the text, the offset map back to the original, and how many templates.
fn substitute(text: &str, placeholders: &Placeholders) -> (String, OffsetMap, usize) {
    let mut map = OffsetMap::default();
    let configured = !placeholders.is_empty() && placeholders.iter().any(|(from, _)| text.contains(from.as_str()));
    if !configured && !text.contains("{{") {
        return (text.to_string(), map, 0);
    }
    let mut out = String::with_capacity(text.len());
    let mut templates = 0;
    let mut quote: Option<char> = None;
    let mut i = 0;
    'scan: while i < text.len() {
        let rest = &text[i..];
        let configured = placeholders.iter().find(|(from, _)| !from.is_empty() && rest.starts_with(from.as_str()));
        let replacement = match configured {
            Some((from, to)) => Some((from.len(), to.clone())),
            None => template_at(rest).and_then(|template| {
                let name = template_name(template);
                let to = match quote {
                    None => format!("\"{name}\""),
                    Some('"') => name,
                    Some(_) => return None,
                };
                templates += 1;
                Some((template.len(), to))
            }),
        };
        if let Some((old_len, to)) = replacement {
            map.replacements.push(Replacement { new_start: out.len(), new_len: to.len(), old_start: i, old_len });
            out.push_str(&to);
            i += old_len;
            continue 'scan;
        }
        let ch = rest.chars().next().unwrap_or(' ');
        // What the template is inside: a literal (`'`), a quoted identifier (`"`), a line
        // comment (until `\n`) or a block comment (`/`).
        quote = match (quote, ch) {
            (None, '\'' | '"') => Some(ch),
            (None, '-') if rest.starts_with("--") => Some('\n'),
            (None, '/') if rest.starts_with("/*") => Some('/'),
            (Some('/'), '*') if rest.starts_with("*/") => None,
            (Some('/'), _) => Some('/'),
            (Some(open), c) if c == open => None,
            (state, _) => state,
        };
        out.push(ch);
        i += ch.len_utf8();
    }
    (out, map, templates)
}

/// The template expression `text` starts with: `{{` to the next `}}`.
fn template_at(text: &str) -> Option<&str> {
    let body = text.strip_prefix("{{")?;
    let end = body.find("}}")?;
    Some(&text[..end + 4])
}

/// A template as a name: its words (without double quotes, which a name cannot hold), cut to
/// the 63 bytes PostgreSQL keeps of a name.
fn template_name(template: &str) -> String {
    crate::catalog::truncate_identifier(template.replace('"', "").split_whitespace().collect::<Vec<_>>().join(" "))
}

#[derive(Clone, Copy, PartialEq)]
enum Lex {
    Code,
    Single,
    /// `E'…'`: backslash escapes apply.
    Escaped,
    Double,
    LineComment,
    Block(u32),
}

/// Text with what only psql reads blanked out, and where its statements end.
#[derive(Debug, PartialEq)]
struct Blanked {
    clean: String,
    meta_commands: usize,
    /// Offsets of the `;` that end statements.
    semicolons: Vec<usize>,
    /// Offsets of `;` inside parentheses, with their depth: they do not end a statement
    /// (`CREATE RULE … DO (…; …)`) unless a parenthesis was left open by mistake.
    nested_semicolons: Vec<(usize, i32)>,
    /// The psql variables substituted into `clean`: maps its offsets back to the input's.
    variables: OffsetMap,
}

/// Blanks psql meta-command lines and COPY … FROM stdin data with spaces (newlines kept), and
/// finds the `;` that end statements.
fn blank_psql_only(text: &str) -> Blanked {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut state = Lex::Code;
    let mut meta = 0;
    let mut i = 0;
    let mut statement_start = 0;
    let mut semicolons = vec![];
    let mut nested_semicolons = vec![];
    let mut depth = 0i32;
    let mut variables: HashMap<String, String> = HashMap::new();
    // psql variable uses to replace: (start, end, value), in input offsets.
    let mut uses: Vec<(usize, usize, String)> = vec![];
    if text.starts_with('\u{feff}') {
        blank(&mut out, 0, '\u{feff}'.len_utf8());
        i = '\u{feff}'.len_utf8();
    }
    let text_start = i;
    loop {
        i = next_in_state(bytes, i, state);
        let Some(&b) = bytes.get(i) else { break };
        match state {
            Lex::Code => {
                if b == b'\\' && at_line_start(bytes, text_start, i) {
                    let end = line_end(bytes, i);
                    set_variable(&text[i..end], &mut variables);
                    blank(&mut out, i, end);
                    meta += 1;
                    i = end;
                    continue;
                }
                match b {
                    // `::` is a cast, never a variable.
                    b':' if bytes.get(i + 1) == Some(&b':') => i += 1,
                    b':' => {
                        if let Some((end, value)) = variable_use(text, i, &variables) {
                            uses.push((i, end, value));
                            i = end;
                            continue;
                        }
                    }
                    b'\'' => {
                        let escapes = i > 0 && matches!(bytes[i - 1], b'E' | b'e');
                        state = if escapes { Lex::Escaped } else { Lex::Single };
                    }
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    b'"' => state = Lex::Double,
                    b'-' if bytes.get(i + 1) == Some(&b'-') => state = Lex::LineComment,
                    b'/' if bytes.get(i + 1) == Some(&b'*') => {
                        state = Lex::Block(1);
                        i += 1;
                    }
                    b'$' => {
                        if let Some(end) = dollar_quote_end(text, i) {
                            i = end;
                            continue;
                        }
                    }
                    b';' if depth <= 0 => {
                        semicolons.push(i);
                        let copies = mentions_stdin(&out[statement_start..i])
                            && is_copy_from_stdin(&String::from_utf8_lossy(&out[statement_start..i]));
                        statement_start = i + 1;
                        if copies {
                            let data_start = line_end(bytes, i) + 1;
                            let data_end = copy_data_end(text, data_start);
                            blank(&mut out, data_start.min(bytes.len()), data_end);
                            i = data_end;
                            statement_start = data_end;
                            continue;
                        }
                    }
                    b';' => nested_semicolons.push((i, depth)),
                    _ => {}
                }
            }
            Lex::Single if b == b'\'' => state = Lex::Code,
            Lex::Escaped if b == b'\\' => i += 1,
            Lex::Escaped if b == b'\'' => state = Lex::Code,
            Lex::Double if b == b'"' => state = Lex::Code,
            // PostgreSQL's scanner ends a `--` comment at `\r` as well as `\n`.
            Lex::LineComment if b == b'\n' || b == b'\r' => state = Lex::Code,
            Lex::Block(depth) => {
                if b == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    state = if depth == 1 { Lex::Code } else { Lex::Block(depth - 1) };
                    i += 1;
                } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    state = Lex::Block(depth + 1);
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII spaces, so the text is still UTF-8.
    let clean = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    if uses.is_empty() {
        return Blanked { clean, meta_commands: meta, semicolons, nested_semicolons, variables: OffsetMap::default() };
    }
    // Splice the values in; every `;` lies outside a use, so it moves by the growth before it.
    let mut spliced = String::with_capacity(clean.len());
    let mut map = OffsetMap::default();
    let mut copied = 0;
    for (start, end, value) in &uses {
        spliced.push_str(&clean[copied..*start]);
        map.replacements.push(Replacement {
            new_start: spliced.len(),
            new_len: value.len(),
            old_start: *start,
            old_len: end - start,
        });
        spliced.push_str(value);
        copied = *end;
    }
    spliced.push_str(&clean[copied..]);
    let moved = |offset: usize| {
        let before = uses.partition_point(|(start, _, _)| *start < offset);
        let growth: isize = uses[..before].iter().map(|(s, e, v)| v.len() as isize - (e - s) as isize).sum();
        offset.saturating_add_signed(growth)
    };
    Blanked {
        clean: spliced,
        meta_commands: meta,
        semicolons: semicolons.into_iter().map(moved).collect(),
        nested_semicolons: nested_semicolons.into_iter().map(|(at, depth)| (moved(at), depth)).collect(),
        variables: map,
    }
}

/// `\set NAME value…` and `\unset NAME`, as psql reads them: the value is the arguments
/// concatenated, single-quoted ones unquoted. A value psql computes (a backquoted shell
/// command, another variable) is unknown: the name is left unset, so its uses stay unparsed.
fn set_variable(line: &str, variables: &mut HashMap<String, String>) {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let Some(name) = words.next().filter(|n| n.bytes().all(is_variable_byte)) else { return };
    match command {
        "\\unset" => {
            variables.remove(name);
        }
        "\\set" => {
            let rest = line.trim_start()[command.len()..].trim_start()[name.len()..].trim();
            match set_value(rest) {
                Some(value) => variables.insert(name.to_string(), value),
                None => variables.remove(name),
            };
        }
        _ => {}
    }
}

/// The value of `\set`'s arguments: words concatenated, `'…'` unquoted with `''` as a quote.
fn set_value(arguments: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = arguments.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        value.push('\'');
                    }
                    '\'' => break,
                    '\\' => return None,
                    other => value.push(other),
                }
            },
            '`' | ':' | '\\' => return None,
            c if c.is_whitespace() => {}
            c => value.push(c),
        }
    }
    Some(value)
}

fn is_variable_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// A use of a set variable at `at` (a `:`): where it ends and what psql puts there. `:name` is
/// the value as is, `:'name'` a quoted literal, `:"name"` a quoted identifier. A name that is
/// not set stays as written, as psql leaves it.
fn variable_use(text: &str, at: usize, variables: &HashMap<String, String>) -> Option<(usize, String)> {
    let bytes = text.as_bytes();
    let quote = bytes.get(at + 1).copied().filter(|q| matches!(q, b'\'' | b'"'));
    let name_start = at + 1 + usize::from(quote.is_some());
    let name_len = bytes[name_start.min(bytes.len())..].iter().take_while(|&&b| is_variable_byte(b)).count();
    let name = text.get(name_start..name_start + name_len).filter(|n| !n.is_empty())?;
    let value = variables.get(name)?;
    match quote {
        None => Some((name_start + name_len, value.clone())),
        Some(q) if bytes.get(name_start + name_len) == Some(&q) => {
            let quote = char::from(q);
            let doubled = value.replace(quote, &format!("{quote}{quote}"));
            Some((name_start + name_len + 1, format!("{quote}{doubled}{quote}")))
        }
        Some(_) => None,
    }
}

/// The offset of the next byte at or after `from` that can change the scan in `state`.
fn next_in_state(bytes: &[u8], from: usize, state: Lex) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    let found = match state {
        Lex::Code => rest.iter().position(|&b| CODE_BYTES[usize::from(b)]),
        Lex::Single => memchr::memchr(b'\'', rest),
        Lex::Escaped => memchr::memchr2(b'\\', b'\'', rest),
        Lex::Double => memchr::memchr(b'"', rest),
        Lex::LineComment => memchr::memchr2(b'\n', b'\r', rest),
        Lex::Block(_) => memchr::memchr2(b'*', b'/', rest),
    };
    found.map_or(bytes.len(), |offset| from + offset)
}

/// The bytes that matter outside quotes and comments.
const CODE_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut k = 0;
    let interesting = b"\\'()\"-/$;:";
    while k < interesting.len() {
        table[interesting[k] as usize] = true;
        k += 1;
    }
    table
};

/// Whether only blanks precede `at` on its line (psql reads meta-commands only there).
fn at_line_start(bytes: &[u8], text_start: usize, at: usize) -> bool {
    let before = &bytes[text_start..at];
    before.iter().rev().take_while(|&&b| b != b'\n').all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// A cheap test before the exact one: only a statement naming `stdin` can be COPY … FROM stdin.
fn mentions_stdin(statement: &[u8]) -> bool {
    statement.windows(5).any(|w| w.eq_ignore_ascii_case(b"stdin"))
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| from + p)
}

fn blank(out: &mut [u8], start: usize, end: usize) {
    for b in &mut out[start..end] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// `$tag$ … $tag$` starting at `start`: the offset just past its end.
fn dollar_quote_end(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.chars().all(|c| c.is_alphanumeric() || c == '_') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let delimiter = &text[start..start + tag_len + 2];
    let body_start = start + tag_len + 2;
    let close = text[body_start..].find(delimiter)?;
    Some(body_start + close + delimiter.len())
}

fn is_copy_from_stdin(statement: &str) -> bool {
    let code: Vec<&str> = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
    let lowered = code.join("\n").trim_start().to_ascii_lowercase();
    lowered.starts_with("copy")
        && lowered.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| w == ["from", "stdin"])
}

fn copy_data_end(text: &str, from: usize) -> usize {
    let mut offset = from;
    for line in text.get(from..).unwrap_or("").split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "\\." {
            return offset;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_commands_are_blanked_only_at_line_start_and_quoted_semicolons_do_not_end_statements() {
        let text = "\\set x 1\nSELECT 1;\n  \\echo hi\nSELECT E'a\\';b', '\\x;';\n";
        let Blanked { clean, meta_commands: meta, semicolons, .. } = blank_psql_only(text);
        assert_eq!(meta, 2);
        assert_eq!(clean, format!("{}\nSELECT 1;\n{}\nSELECT E'a\\';b', '\\x;';\n", " ".repeat(8), " ".repeat(10)));
        assert_eq!(semicolons, vec![17, 52]);
    }

    #[test]
    fn comments_dollar_quotes_and_parameters_hide_or_keep_semicolons() {
        let text = "/* a /* b; */ ; */ SELECT $1; DO $x$ a; $x$; SELECT \"q;\" -- c;\n;";
        let Blanked { clean, meta_commands: meta, semicolons, .. } = blank_psql_only(text);
        assert_eq!((clean.as_str(), meta), (text, 0));
        assert_eq!(semicolons, vec![28, 43, text.len() - 1]);
    }

    #[test]
    fn a_byte_order_mark_is_blanked_and_a_meta_command_after_it_still_counts() {
        let Blanked { clean, meta_commands: meta, semicolons, .. } = blank_psql_only("\u{feff}\\set a\nSELECT 1;");
        assert_eq!(meta, 1);
        assert_eq!(clean, format!("{}\nSELECT 1;", " ".repeat(3 + 6)));
        assert_eq!(semicolons, vec![18]);
    }

    #[test]
    fn copy_data_is_blanked_through_its_terminator() {
        let text = "COPY t (a) FROM stdin;\n1;2\n\\.\nSELECT 1;";
        let Blanked { clean, meta_commands: meta, semicolons, .. } = blank_psql_only(text);
        assert_eq!(meta, 0);
        assert_eq!(clean, format!("COPY t (a) FROM stdin;\n{}\n{}\nSELECT 1;", " ".repeat(3), " ".repeat(2)));
        assert_eq!(semicolons, vec![21, text.len() - 1]);
    }
}
