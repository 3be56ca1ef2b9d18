//! The line pre-scan of a file ([`Prescan`]) and the outline parse it drives: which top-level
//! statements are worth parsing, and whether a line could be a Python 2 statement.

/// A top-level statement, as an outline parse chooses what to read (bare strings and decorated
/// definitions are never read).
#[derive(Clone, Copy)]
pub enum TopLevel<'t> {
    /// `def name(…)` or `async def name(…)`.
    Def(&'t str),
    /// `class name…`.
    Class(&'t str),
    /// `import …` or `from … import …`.
    Import,
    /// Any other statement: an assignment, an `if` block, …
    Other,
}

/// The byte ranges of the top-level statements worth parsing (see [`Module::parse_outline`](super::Module::parse_outline)),
/// without their comment lines. `None` when all of the text is worth parsing anyway.
pub(super) fn outline_ranges(
    text: &str,
    layout: &Prescan,
    keep: &dyn Fn(TopLevel) -> bool,
) -> Option<Vec<std::ops::Range<usize>>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::with_capacity(layout.starts.len());
    for (index, std::ops::Range { start, end }) in layout.statements(text).enumerate() {
        let line = &text[start..end];
        let read = match leading_word(line, b"@") {
            // A module docstring (or any bare string statement) means nothing to a reader.
            "" if line.starts_with(['"', '\'']) => false,
            "import" | "from" => keep(TopLevel::Import),
            word if word.starts_with('@') => false,
            "class" => keep(TopLevel::Class(leading_word(line["class".len()..].trim_start(), b""))),
            "def" | "async" => layout.function_defined_by(text, index).is_some_and(|name| keep(TopLevel::Def(name))),
            _ => keep(TopLevel::Other),
        };
        if !read {
            continue;
        }
        // `name: Annotation = value`: the annotation means nothing to a reader and is often the
        // larger part of the statement (`Union[str, Sequence[str], None]`), so it is left out.
        let pieces = match annotation(line) {
            Some(gap) => [start..start + gap.start, start + gap.end..end],
            None => [start..end, end..end],
        };
        for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
            match ranges.last_mut() {
                Some(last) if last.end == piece.start => last.end = piece.end,
                _ => ranges.push(piece),
            }
        }
    }
    // Comment lines mean nothing to a reader either (directives are read from the text), and
    // Alembic puts two in every function it generates.
    let ranges = without(ranges, &layout.comment_lines);
    if ranges.len() == 1 && ranges[0] == (0..text.len()) {
        return None;
    }
    Some(ranges)
}

/// Where, in a top-level `def name(` (or `async def name(`) statement, the name it defines is.
fn defined_function(statement: &str) -> Option<std::ops::Range<usize>> {
    fn after_keyword<'t>(keyword: &str, text: &'t str) -> Option<&'t str> {
        Some(text.strip_prefix(keyword)?.strip_prefix([' ', '\t'])?.trim_start())
    }
    let rest = match after_keyword("async", statement) {
        Some(rest) => after_keyword("def", rest)?,
        None => after_keyword("def", statement)?,
    };
    let name = leading_word(rest, b"");
    let start = statement.len() - rest.len();
    (!name.is_empty() && rest[name.len()..].trim_start().starts_with('(')).then_some(start..start + name.len())
}

/// The identifier `text` starts with (with any of `also` counted as identifier bytes). Bytes
/// past ASCII count too: they only occur in identifiers that are no keyword.
fn leading_word<'t>(text: &'t str, also: &[u8]) -> &'t str {
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || !b.is_ascii() || also.contains(b);
    let len = text.bytes().position(|b| !is_word(&b)).unwrap_or(text.len());
    &text[..len]
}

/// In `name: Annotation = value`, the range of `: Annotation ` (relative to the statement).
/// Only one-line annotations without strings are recognised; anything else is parsed whole.
pub(super) fn annotation(statement: &str) -> Option<std::ops::Range<usize>> {
    let name = leading_word(statement, b"");
    let name_len = name.len();
    const KEYWORDS: &[&str] = &["else", "try", "finally", "except", "elif", "lambda", "match", "case", "with"];
    if name_len == 0 || name.starts_with(|c: char| c.is_ascii_digit()) || KEYWORDS.contains(&name) {
        return None;
    }
    let colon = name_len + statement[name_len..].find(|c: char| c != ' ' && c != '\t')?;
    if !statement[colon..].starts_with(':') {
        return None;
    }
    let mut depth = 0i32;
    for (offset, c) in statement[colon + 1..].char_indices() {
        let at = colon + 1 + offset;
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '\'' | '"' | '#' | '\n' | '\\' => return None,
            '=' if depth == 0 && !statement[at + 1..].starts_with('=') => return Some(colon..at),
            _ => {}
        }
    }
    None
}

/// Where a file's top-level statements begin, which lines hold only a comment, and whether it
/// needs tree-sitter's grammar: found by one light scan that follows brackets, strings and
/// comments, and read by every outline parse of the file.
pub struct Prescan {
    /// Offsets where top-level statements begin: a line that starts at column 0 outside any
    /// bracket, string or comment.
    pub(super) starts: Vec<usize>,
    /// Lines that hold only a comment (outside strings), newline included.
    pub(super) comment_lines: Vec<std::ops::Range<usize>>,
    /// Whether a line could be a Python 2 statement (see [`may_hold_python2_statements`]).
    pub(super) python2: bool,
    /// The top-level `def`s: the index of the statement in `starts`, and the name defined.
    functions: Vec<(usize, std::ops::Range<usize>)>,
}

/// The bytes [`layout`] acts on outside strings.
const LAYOUT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 10 {
        table[b"#'\"()[]{}\\"[i] as usize] = true;
        i += 1;
    }
    table[b'\n' as usize] = true;
    table
};

impl Prescan {
    pub fn of(text: &str) -> Prescan {
        let bytes = text.as_bytes();
        // Sized for a generated migration (a dozen statements, a few comment lines).
        let mut starts = Vec::with_capacity(32);
        let mut comment_lines = Vec::with_capacity(16);
        let mut depth = 0i32;
        let mut quote: Option<&[u8]> = None;
        let mut i = 0;
        // Where the current line begins, while it has held only blanks.
        let mut blank_line: Option<usize> = Some(0);
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if b != b'\\' && b != b'\n' && b != q[0] {
                    // Docstrings are long: jump to the next byte that can escape or end the string.
                    i += memchr::memchr3(b'\\', b'\n', q[0], &bytes[i..]).unwrap_or(bytes.len() - i);
                    continue;
                }
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if bytes[i..].starts_with(q) {
                    i += q.len();
                    quote = None;
                    continue;
                }
                // A one-line string ends at the line's end even when unterminated (a syntax error).
                if b == b'\n' && q.len() == 1 {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if blank_line.is_some() && (b == b' ' || b == b'\t') {
                // A line's indentation: skip it whole.
                i += bytes[i..].iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(bytes.len() - i);
                continue;
            }
            if blank_line.is_none() && !LAYOUT_BYTES[usize::from(b)] {
                // Mid-line, only the bytes below change the state: jump to the next one.
                i += bytes[i..].iter().position(|&c| LAYOUT_BYTES[usize::from(c)]).unwrap_or(bytes.len() - i);
                continue;
            }
            if !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'#') {
                if blank_line == Some(i) && depth <= 0 {
                    starts.push(i);
                }
                blank_line = None;
            }
            match b {
                b'#' => {
                    let end = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |p| i + p + 1);
                    if let Some(line) = blank_line {
                        comment_lines.push(line..end);
                    }
                    (i, blank_line) = (end, Some(end));
                    continue;
                }
                b'\'' | b'"' => {
                    let triple = bytes[i..].starts_with(if b == b'"' { b"\"\"\"" } else { b"\'\'\'" });
                    let len = if triple { 3 } else { 1 };
                    quote = Some(&bytes[i..i + len]);
                    i += len;
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                b'\n' => blank_line = Some(i + 1),
                _ => {}
            }
            i += 1;
        }
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
        }
        let mut layout =
            Prescan { starts, comment_lines, python2: may_hold_python2_statements(text), functions: vec![] };
        let functions = layout
            .statements(text)
            .enumerate()
            .filter_map(|(index, statement)| {
                let name = defined_function(&text[statement.clone()])?;
                Some((index, statement.start + name.start..statement.start + name.end))
            })
            .collect();
        layout.functions = functions;
        layout
    }

    /// The name of the function the top-level statement `index` defines, if it is a `def`.
    fn function_defined_by<'t>(&self, text: &'t str, index: usize) -> Option<&'t str> {
        let at = self.functions.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(&text[self.functions[at].1.clone()])
    }

    /// The byte range of each top-level statement of `text` (the text this layout is of), up
    /// to where the next one begins: comment lines and blank lines after it included.
    fn statements<'s>(&'s self, text: &'s str) -> impl Iterator<Item = std::ops::Range<usize>> + 's {
        let ends = self.starts.iter().skip(1).copied().chain(std::iter::once(text.len()));
        self.starts.iter().copied().zip(ends).map(|(start, end)| start..end)
    }

    /// Where the top-level `def name(…)` is in `text`: from its line to the next top-level
    /// statement.
    pub fn function(&self, text: &str, name: &str) -> Option<std::ops::Range<usize>> {
        let (index, _) = self.functions.iter().find(|(_, defined)| &text[defined.clone()] == name)?;
        self.statements(text).nth(*index)
    }
}

/// `ranges` (sorted, disjoint) less the `holes` (sorted, disjoint, none across a range's end).
fn without(ranges: Vec<std::ops::Range<usize>>, holes: &[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(ranges.len() + holes.len());
    let mut holes = holes.iter().peekable();
    for range in ranges {
        let mut start = range.start;
        while let Some(hole) = holes.next_if(|hole| hole.start < range.end) {
            if hole.start > start {
                out.push(start..hole.start);
            }
            start = start.max(hole.end);
        }
        if start < range.end {
            out.push(start..range.end);
        }
    }
    out
}

/// `print x` / `exec code` at the start of a line (`print(x)` is Python 3). Only the places
/// the keywords occur are looked at: `op.execute(…)` is in most Alembic files.
pub(super) fn may_hold_python2_statements(text: &str) -> bool {
    static KEYWORDS: std::sync::LazyLock<[memchr::memmem::Finder; 2]> =
        std::sync::LazyLock::new(|| [memchr::memmem::Finder::new("print"), memchr::memmem::Finder::new("exec")]);
    KEYWORDS.iter().any(|keyword| {
        keyword.find_iter(text.as_bytes()).any(|at| {
            // Most occurrences follow a dot or a letter (`op.execute`): no line scan for those.
            if at > 0 && !matches!(text.as_bytes()[at - 1], b' ' | b'\t' | b'\n') {
                return false;
            }
            let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |newline| newline + 1);
            let after = &text[at + keyword.needle().len()..];
            let rest = after.split('\n').next().unwrap_or_default();
            text[line_start..at].trim_start().is_empty()
                && rest.starts_with([' ', '\t'])
                && !rest.trim_start().starts_with(['(', '='])
        })
    })
}
