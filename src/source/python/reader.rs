//! A fast reader for the Python that migrations are written in: generated Django and Alembic
//! files, and the hand-edited ones close to them. It builds the same tree tree-sitter-python
//! builds (kinds, fields, byte ranges), several times faster, and gives up (`None`) at the first
//! construct outside its subset — a comprehension, a lambda, a `try`, a decorator, an f-string,
//! a syntax error — so the caller parses that file with tree-sitter instead. Nothing is ever
//! read differently; a file is only read sooner.

use std::ops::Range;

use super::syntax::{Builder, Field, Mark, SyntaxTree};

/// Reads the parts of `text` in `ranges` (sorted, disjoint, whole lines or pieces of one line,
/// never inside a string) as a Python module.
pub fn read(text: &str, ranges: &[Range<usize>]) -> Option<SyntaxTree> {
    let tokens = tokenize(text, ranges)?;
    let mut reader = Reader { text, tokens, at: 0, builder: Builder::new(text.len() / 8), depth: 0 };
    reader.module()?;
    Some(reader.builder.build())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Token {
    Name,
    Number,
    String,
    Op,
    Newline,
    Indent,
    Dedent,
    End,
}

#[derive(Clone, Copy, Debug)]
struct Lexeme {
    token: Token,
    start: u32,
    end: u32,
}

/// The length of the operator at the start of `rest`, if one is there (`;` and a lone `!` are
/// not: a file using them goes to tree-sitter).
fn operator_len(rest: &[u8]) -> Option<usize> {
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let (first, second, third) = (at(0), at(1), at(2));
    let len = match first {
        b'(' | b')' | b'[' | b']' | b'{' | b'}' | b',' | b'~' => 1,
        b':' => 1 + usize::from(second == b'='),
        b'.' if second == b'.' && third == b'.' => 3,
        b'.' => 1,
        b'-' => 1 + usize::from(second == b'>' || second == b'='),
        b'+' | b'%' | b'&' | b'|' | b'^' | b'@' | b'=' => 1 + usize::from(second == b'='),
        b'!' if second == b'=' => 2,
        b'*' | b'/' | b'<' | b'>' if second == first => 2 + usize::from(third == b'='),
        b'<' if second == b'>' => 2,
        b'*' | b'/' | b'<' | b'>' => 1 + usize::from(second == b'='),
        _ => return None,
    };
    Some(len)
}

/// Byte equality without a library call: the strings compared here are a few bytes long.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn tokenize(text: &str, ranges: &[Range<usize>]) -> Option<Vec<Lexeme>> {
    let bytes = text.as_bytes();
    let mut out: Vec<Lexeme> = Vec::with_capacity(text.len() / 4);
    let mut indents = vec![0usize];
    let mut depth = 0usize;
    let mut line_start = true;
    let push = |out: &mut Vec<Lexeme>, token, start: usize, end: usize| {
        out.push(Lexeme { token, start: start as u32, end: end as u32 })
    };
    for range in ranges {
        let mut i = range.start;
        while i < range.end {
            if line_start && depth == 0 {
                let indent = bytes[i..range.end].iter().take_while(|&&b| b == b' ').count();
                let first = bytes.get(i + indent).copied();
                match first {
                    None | Some(b'\n' | b'\r' | b'#') => {}
                    Some(b'\t' | b'\x0c') => return None,
                    Some(_) if i + indent >= range.end => {}
                    Some(_) => {
                        let top = *indents.last()?;
                        if indent > top {
                            indents.push(indent);
                            push(&mut out, Token::Indent, i + indent, i + indent);
                        }
                        while indent < *indents.last()? {
                            indents.pop();
                            push(&mut out, Token::Dedent, i + indent, i + indent);
                        }
                        if indent != *indents.last()? {
                            return None;
                        }
                        line_start = false;
                    }
                }
                i += indent;
                if line_start {
                    // A blank or comment-only line.
                    let end = memchr::memchr(b'\n', &bytes[i..range.end]).map_or(range.end, |p| i + p + 1);
                    i = end;
                    continue;
                }
            }
            let b = bytes[i];
            match b {
                b' ' | b'\r' => i += 1,
                b'\t' | b'\x0c' => i += 1,
                b'#' => i = memchr::memchr(b'\n', &bytes[i..range.end]).map_or(range.end, |p| i + p),
                b'\n' => {
                    if depth == 0 {
                        push(&mut out, Token::Newline, i, i + 1);
                        line_start = true;
                    }
                    i += 1;
                }
                b'\\' => return None,
                b'"' | b'\'' => {
                    let end = string_end(bytes, i)?;
                    push(&mut out, Token::String, i, end);
                    i = end;
                }
                b'0'..=b'9' => {
                    let end = number_end(bytes, i);
                    push(&mut out, Token::Number, i, end);
                    i = end;
                }
                b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    let end = number_end(bytes, i);
                    push(&mut out, Token::Number, i, end);
                    i = end;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let end = i + bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
                    if bytes.get(end).is_some_and(|&q| q == b'"' || q == b'\'') {
                        if !is_string_prefix(&text[i..end]) {
                            return None;
                        }
                        let literal_end = string_end(bytes, end)?;
                        push(&mut out, Token::String, i, literal_end);
                        i = literal_end;
                    } else {
                        if bytes.get(end).is_some_and(|&c| c >= 0x80) {
                            return None;
                        }
                        push(&mut out, Token::Name, i, end);
                        i = end;
                    }
                }
                _ => {
                    let len = operator_len(&bytes[i..])?;
                    match b {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
                        _ => {}
                    }
                    push(&mut out, Token::Op, i, i + len);
                    i += len;
                }
            }
        }
    }
    if depth != 0 {
        return None;
    }
    if out.last().is_some_and(|l| !matches!(l.token, Token::Newline | Token::Dedent)) {
        let end = out.last().map_or(0, |l| l.end as usize);
        push(&mut out, Token::Newline, end, end);
    }
    let end = text.len();
    for _ in 1..indents.len() {
        push(&mut out, Token::Dedent, end, end);
    }
    push(&mut out, Token::End, end, end);
    Some(out)
}

fn is_string_prefix(prefix: &str) -> bool {
    matches!(prefix.to_ascii_lowercase().as_str(), "r" | "u" | "b" | "br" | "rb" | "f" | "rf" | "fr")
}

/// The end of the string literal whose opening quote is at `quote`.
fn string_end(bytes: &[u8], quote: usize) -> Option<usize> {
    let q = bytes[quote];
    let triple = bytes[quote..].starts_with(&[q, q, q]);
    let mut i = quote + if triple { 3 } else { 1 };
    loop {
        let offset = bytes[i..].iter().position(|&c| c == q || c == b'\\' || c == b'\n')?;
        i += offset;
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return None,
            b'\n' => i += 1,
            _ if !triple => return Some(i + 1),
            _ if bytes[i..].starts_with(&[q, q, q]) => return Some(i + 3),
            _ => i += 1,
        }
        if i >= bytes.len() {
            return None;
        }
    }
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        let c = bytes[i];
        let exponent_sign =
            (c == b'+' || c == b'-') && matches!(bytes[i - 1], b'e' | b'E') && !is_hex(&bytes[start..i]);
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

fn is_hex(number: &[u8]) -> bool {
    number.len() > 1 && number[0] == b'0' && matches!(number[1], b'x' | b'X')
}

/// tree-sitter's kind for a number: `None` when it is not one Python reads.
fn number_kind(text: &str) -> Option<&'static str> {
    let digits = text.strip_suffix(['j', 'J']).unwrap_or(text);
    let lower = text.to_ascii_lowercase();
    let radix = |prefix: &str, valid: fn(u8) -> bool| {
        lower.strip_prefix(prefix).map(|rest| {
            let rest = rest.strip_suffix('l').unwrap_or(rest);
            !rest.is_empty() && rest.bytes().all(|c| valid(c) || c == b'_')
        })
    };
    for (prefix, valid) in [
        ("0x", (|c| c.is_ascii_hexdigit()) as fn(u8) -> bool),
        ("0o", |c| (b'0'..=b'7').contains(&c)),
        ("0b", |c| c == b'0' || c == b'1'),
    ] {
        if let Some(ok) = radix(prefix, valid) {
            return ok.then_some("integer");
        }
    }
    if digits.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return Some("integer");
    }
    let long = text.strip_suffix(['l', 'L']).unwrap_or(text);
    if long.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return Some("integer");
    }
    let float = |s: &str| {
        let (mantissa, exponent) = match s.find(['e', 'E']) {
            Some(e) => (&s[..e], Some(&s[e + 1..])),
            None => (s, None),
        };
        let exponent_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit() || c == b'_')
        });
        let dots = mantissa.bytes().filter(|&c| c == b'.').count();
        let mantissa_ok = mantissa.bytes().any(|c| c.is_ascii_digit())
            && mantissa.bytes().all(|c| c.is_ascii_digit() || c == b'_' || c == b'.')
            && dots <= 1
            && (dots == 1 || exponent.is_some());
        mantissa_ok && exponent_ok
    };
    float(digits).then_some("float")
}

/// Words that are not names in Python 3, and the soft keywords tree-sitter may read as the
/// start of a statement of their own: a file using one as a name goes to tree-sitter.
const RESERVED: [&str; 39] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "print", "exec", "match", "type",
];

/// The first letters of [`RESERVED`] words: most names (`op`, `sa`, `models`) are told apart
/// by their first byte alone.
const RESERVED_FIRST: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < RESERVED.len() {
        table[RESERVED[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    table
};

fn is_reserved(word: &str) -> bool {
    let first = word.as_bytes().first().copied().unwrap_or(0);
    RESERVED_FIRST[usize::from(first)] && RESERVED.iter().any(|reserved| same(reserved.as_bytes(), word.as_bytes()))
}

struct Reader<'a> {
    text: &'a str,
    tokens: Vec<Lexeme>,
    at: usize,
    builder: Builder,
    depth: u32,
}

/// Nesting deeper than this goes to tree-sitter (and keeps the recursion shallow).
const MAX_DEPTH: u32 = 100;

impl Reader<'_> {
    fn peek(&self) -> Lexeme {
        self.tokens[self.at]
    }

    fn peek_at(&self, ahead: usize) -> Option<Lexeme> {
        self.tokens.get(self.at + ahead).copied()
    }

    fn text_of(&self, lexeme: Lexeme) -> &str {
        &self.text[lexeme.start as usize..lexeme.end as usize]
    }

    /// Whether the next token is `text`. Asked several times per token: its bytes are compared
    /// without the char-boundary checks of slicing a `str`.
    fn is(&self, token: Token, text: &str) -> bool {
        let next = self.peek();
        next.token == token && same(&self.text.as_bytes()[next.start as usize..next.end as usize], text.as_bytes())
    }

    fn is_op(&self, text: &str) -> bool {
        self.is(Token::Op, text)
    }

    fn is_word(&self, text: &str) -> bool {
        self.is(Token::Name, text)
    }

    fn bump(&mut self) -> Lexeme {
        let lexeme = self.peek();
        self.at += 1;
        lexeme
    }

    fn expect(&mut self, token: Token, text: &str) -> Option<Lexeme> {
        self.is(token, text).then(|| self.bump())
    }

    fn expect_token(&mut self, token: Token) -> Option<Lexeme> {
        (self.peek().token == token).then(|| self.bump())
    }

    fn start(&self, id: u32) -> usize {
        self.builder.start_of(id)
    }

    fn end(&self, id: u32) -> usize {
        self.builder.end_of(id)
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn module(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        while self.peek().token != Token::End {
            let statement = self.statement()?;
            self.builder.child(statement);
        }
        Some(self.builder.finish(mark, "module", 0, self.text.len()))
    }

    fn statement(&mut self) -> Option<u32> {
        let next = self.peek();
        if next.token != Token::Name {
            return self.expression_statement();
        }
        match self.text_of(next) {
            "def" => self.function_definition(),
            "class" => self.class_definition(),
            "if" => self.if_statement(),
            "for" => self.for_statement(),
            "with" => self.with_statement(),
            "pass" => {
                let word = self.bump();
                self.expect_token(Token::Newline)?;
                Some(self.builder.leaf("pass_statement", word.start as usize, word.end as usize))
            }
            "return" => self.return_statement(),
            word if is_reserved(word) && !matches!(word, "True" | "False" | "None" | "not") => None,
            _ => self.expression_statement(),
        }
    }

    fn expression_statement(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let first = self.expression()?;
        let content = if self.is_op("=") {
            self.assignment(first)?
        } else if self.is_op(",") {
            let targets = self.pattern_list(first, |reader| reader.is_op("="), Reader::expression)?;
            self.assignment(targets)?
        } else {
            first
        };
        self.expect_token(Token::Newline)?;
        self.builder.child(content);
        self.builder.finish_spanning(mark, "expression_statement")
    }

    /// `a, b` before `=` (or `in`): targets up to where `at_end` says they stop, each read
    /// by `item`.
    fn pattern_list(
        &mut self,
        first: u32,
        at_end: fn(&Self) -> bool,
        item: fn(&mut Self) -> Option<u32>,
    ) -> Option<u32> {
        let mark = self.builder.mark();
        self.builder.child(self.pattern(first)?);
        let mut end = self.end(first);
        while let Some(comma) = self.expect(Token::Op, ",") {
            end = comma.end as usize;
            if at_end(self) {
                break;
            }
            let item = item(self)?;
            self.builder.child(self.pattern(item)?);
            end = self.end(item);
        }
        if !at_end(self) {
            return None;
        }
        let start = self.start(first);
        Some(self.builder.finish(mark, "pattern_list", start, end))
    }

    fn pattern(&self, id: u32) -> Option<u32> {
        matches!(self.builder.kind_of(id), "identifier" | "attribute" | "subscript" | "pattern_list").then_some(id)
    }

    /// `left = right`, `left = middle = right`.
    fn assignment(&mut self, left: u32) -> Option<u32> {
        self.pattern(left)?;
        self.expect(Token::Op, "=")?;
        let mark = self.builder.mark();
        self.builder.child_in(Field::Left, left);
        let first = self.expression()?;
        let right = if self.is_op("=") {
            self.assignment(first)?
        } else if self.is_op(",") {
            let rest = self.expression_list(first)?;
            if self.is_op("=") {
                return None;
            }
            rest
        } else {
            first
        };
        self.builder.child_in(Field::Right, right);
        self.builder.finish_spanning(mark, "assignment")
    }

    /// `a, b` as a value: after `=`, `return` or `in`.
    fn expression_list(&mut self, first: u32) -> Option<u32> {
        let mark = self.builder.mark();
        self.builder.child(first);
        let mut end = self.end(first);
        while let Some(comma) = self.expect(Token::Op, ",") {
            end = comma.end as usize;
            if self.at_expression_end() {
                break;
            }
            let item = self.expression()?;
            self.builder.child(item);
            end = self.end(item);
        }
        let start = self.start(first);
        Some(self.builder.finish(mark, "expression_list", start, end))
    }

    fn at_expression_end(&self) -> bool {
        let next = self.peek();
        next.token == Token::Newline || (next.token == Token::Op && matches!(self.text_of(next), "=" | ":" | ")"))
    }

    fn return_statement(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let word = self.bump();
        let mut end = word.end as usize;
        if self.peek().token != Token::Newline {
            let first = self.expression()?;
            let value = if self.is_op(",") { self.expression_list(first)? } else { first };
            self.builder.child(value);
            end = self.end(value);
        }
        self.expect_token(Token::Newline)?;
        Some(self.builder.finish(mark, "return_statement", word.start as usize, end))
    }

    /// `: <newline> <indent> statements <dedent>` — a suite on the same line goes to tree-sitter.
    fn block(&mut self) -> Option<u32> {
        self.expect(Token::Op, ":")?;
        self.expect_token(Token::Newline)?;
        self.expect_token(Token::Indent)?;
        self.enter()?;
        let mark = self.builder.mark();
        while self.peek().token != Token::Dedent {
            let statement = self.statement()?;
            self.builder.child(statement);
        }
        self.bump();
        self.leave();
        self.builder.finish_spanning(mark, "block")
    }

    fn function_definition(&mut self) -> Option<u32> {
        self.definition("function_definition", |reader| {
            let parameters = reader.parameters()?;
            reader.builder.child_in(Field::Parameters, parameters);
            if reader.expect(Token::Op, "->").is_some() {
                let annotation = reader.type_node()?;
                reader.builder.child(annotation);
            }
            Some(())
        })
    }

    fn class_definition(&mut self) -> Option<u32> {
        self.definition("class_definition", |reader| {
            if reader.is_op("(") {
                let superclasses = reader.argument_list()?;
                reader.builder.child(superclasses);
            }
            Some(())
        })
    }

    /// `def`/`class`: the keyword, a name, what `signature` reads, then the body.
    fn definition(&mut self, kind: &'static str, signature: fn(&mut Self) -> Option<()>) -> Option<u32> {
        let mark = self.builder.mark();
        let word = self.bump();
        let name = self.identifier()?;
        self.builder.child_in(Field::Name, name);
        signature(self)?;
        let end = self.body()?;
        Some(self.builder.finish(mark, kind, word.start as usize, end))
    }

    fn type_node(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let inner = self.expression()?;
        if matches!(self.builder.kind_of(inner), "subscript" | "binary_operator") {
            // `list[str]`, `str | None`: tree-sitter reads these as type expressions of its own.
            return None;
        }
        self.builder.child(inner);
        self.builder.finish_spanning(mark, "type")
    }

    fn parameters(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let open = self.expect(Token::Op, "(")?;
        while !self.is_op(")") {
            let parameter = self.parameter()?;
            self.builder.child(parameter);
            if self.expect(Token::Op, ",").is_none() {
                break;
            }
        }
        let close = self.expect(Token::Op, ")")?;
        Some(self.builder.finish(mark, "parameters", open.start as usize, close.end as usize))
    }

    fn parameter(&mut self) -> Option<u32> {
        for (star, kind) in [("*", "list_splat_pattern"), ("**", "dictionary_splat_pattern")] {
            if let Some(op) = self.expect(Token::Op, star) {
                let mark = self.builder.mark();
                let name = self.identifier()?;
                self.builder.child(name);
                let end = self.end(name);
                return Some(self.builder.finish(mark, kind, op.start as usize, end));
            }
        }
        let mark = self.builder.mark();
        let name = self.identifier()?;
        let annotation = match self.expect(Token::Op, ":") {
            Some(_) => Some(self.type_node()?),
            None => None,
        };
        if self.expect(Token::Op, "=").is_none() {
            let Some(annotation) = annotation else {
                return Some(name);
            };
            self.builder.child(name);
            self.builder.child(annotation);
            return self.builder.finish_spanning(mark, "typed_parameter");
        }
        self.builder.child_in(Field::Name, name);
        if let Some(annotation) = annotation {
            self.builder.child(annotation);
        }
        let value = self.expression()?;
        self.builder.child_in(Field::Value, value);
        let kind = if annotation.is_some() { "typed_default_parameter" } else { "default_parameter" };
        self.builder.finish_spanning(mark, kind)
    }

    fn if_statement(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let word = self.bump();
        let mut end = self.guarded_block()?;
        while self.is_word("elif") {
            let clause_mark = self.builder.mark();
            let elif = self.bump();
            end = self.guarded_block()?;
            let clause = self.builder.finish(clause_mark, "elif_clause", elif.start as usize, end);
            self.builder.child_in(Field::Alternative, clause);
        }
        end = self.optional_else(end)?;
        Some(self.builder.finish(mark, "if_statement", word.start as usize, end))
    }

    /// An `if`/`elif` condition and the block it guards; returns where the block ends.
    fn guarded_block(&mut self) -> Option<usize> {
        let condition = self.expression()?;
        self.builder.child_in(Field::Condition, condition);
        let consequence = self.block()?;
        self.builder.child_in(Field::Consequence, consequence);
        Some(self.end(consequence))
    }

    /// A compound statement's block, as its `body` field; returns where the block ends.
    fn body(&mut self) -> Option<usize> {
        let body = self.block()?;
        self.builder.child_in(Field::Body, body);
        Some(self.end(body))
    }

    /// An `else:` clause as the `alternative` field, if one follows; returns where the statement ends.
    fn optional_else(&mut self, end: usize) -> Option<usize> {
        if !self.is_word("else") {
            return Some(end);
        }
        let mark = self.builder.mark();
        let word = self.bump();
        let else_end = self.body()?;
        let clause = self.builder.finish(mark, "else_clause", word.start as usize, else_end);
        self.builder.child_in(Field::Alternative, clause);
        Some(else_end)
    }

    fn for_statement(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let word = self.bump();
        let first = self.primary()?;
        let left = if self.is_op(",") {
            let targets = self.pattern_list(first, |reader| reader.is_word("in"), Reader::primary)?;
            self.pattern(targets)?
        } else {
            self.pattern(first)?
        };
        self.builder.child_in(Field::Left, left);
        self.expect(Token::Name, "in")?;
        let first = self.expression()?;
        let right = if self.is_op(",") { self.expression_list(first)? } else { first };
        self.builder.child_in(Field::Right, right);
        let body_end = self.body()?;
        let end = self.optional_else(body_end)?;
        Some(self.builder.finish(mark, "for_statement", word.start as usize, end))
    }

    fn with_statement(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let word = self.bump();
        if self.is_op("(") {
            // `with (a as b, c):` and a parenthesized manager read alike until the `as`.
            return None;
        }
        let clause_mark = self.builder.mark();
        loop {
            let item = self.with_item()?;
            self.builder.child(item);
            if self.expect(Token::Op, ",").is_none() {
                break;
            }
        }
        let clause = self.builder.finish_spanning(clause_mark, "with_clause")?;
        self.builder.child(clause);
        let end = self.body()?;
        Some(self.builder.finish(mark, "with_statement", word.start as usize, end))
    }

    fn with_item(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let manager = self.expression()?;
        let value = if self.expect(Token::Name, "as").is_some() {
            let pattern_mark = self.builder.mark();
            self.builder.child(manager);
            let target_mark = self.builder.mark();
            let name = self.identifier()?;
            self.builder.child(name);
            let target = self.builder.finish_spanning(target_mark, "as_pattern_target")?;
            self.builder.child(target);
            self.builder.finish_spanning(pattern_mark, "as_pattern")?
        } else {
            manager
        };
        self.builder.child_in(Field::Value, value);
        self.builder.finish_spanning(mark, "with_item")
    }

    fn identifier(&mut self) -> Option<u32> {
        let next = self.peek();
        if next.token != Token::Name || is_reserved(self.text_of(next)) {
            return None;
        }
        self.bump();
        Some(self.builder.leaf("identifier", next.start as usize, next.end as usize))
    }

    fn expression(&mut self) -> Option<u32> {
        self.enter()?;
        let expression = self.disjunction()?;
        self.leave();
        if self.is_word("if") || self.is_op(":=") {
            return None;
        }
        Some(expression)
    }

    fn disjunction(&mut self) -> Option<u32> {
        let mut left = self.conjunction()?;
        while self.is_word("or") {
            left = self.boolean(left, Reader::conjunction)?;
        }
        Some(left)
    }

    fn conjunction(&mut self) -> Option<u32> {
        let mut left = self.inversion()?;
        while self.is_word("and") {
            left = self.boolean(left, Reader::inversion)?;
        }
        Some(left)
    }

    fn boolean(&mut self, left: u32, operand: fn(&mut Self) -> Option<u32>) -> Option<u32> {
        let mark = self.builder.mark();
        self.builder.child_in(Field::Left, left);
        let word = self.bump();
        let kind = if self.text_of(word) == "or" { "or" } else { "and" };
        let operator = self.builder.leaf(kind, word.start as usize, word.end as usize);
        self.builder.field(Field::Operator, operator);
        let right = operand(self)?;
        self.builder.child_in(Field::Right, right);
        self.builder.finish_spanning(mark, "boolean_operator")
    }

    fn inversion(&mut self) -> Option<u32> {
        if !self.is_word("not") {
            return self.comparison();
        }
        let mark = self.builder.mark();
        let word = self.bump();
        self.prefix_operation(mark, "not_operator", word.start as usize, Reader::inversion)
    }

    fn comparison(&mut self) -> Option<u32> {
        let first = self.binary(0)?;
        if self.comparison_operator().is_none() {
            return Some(first);
        }
        let mark = self.builder.mark();
        self.builder.child(first);
        while let Some(words) = self.comparison_operator() {
            self.at += words;
            let operand = self.binary(0)?;
            self.builder.child(operand);
        }
        self.builder.finish_spanning(mark, "comparison_operator")
    }

    /// How many tokens the comparison operator ahead takes, if one is.
    fn comparison_operator(&self) -> Option<usize> {
        let next = self.peek();
        let second = self.peek_at(1).map(|l| (l.token, self.text_of(l)));
        match (next.token, self.text_of(next)) {
            (Token::Op, "<" | "<=" | "==" | "!=" | ">=" | ">" | "<>") => Some(1),
            (Token::Name, "in") => Some(1),
            (Token::Name, "is") if second == Some((Token::Name, "not")) => Some(2),
            (Token::Name, "is") => Some(1),
            (Token::Name, "not") if second == Some((Token::Name, "in")) => Some(2),
            _ => None,
        }
    }

    /// Binary operators, with tree-sitter-python's precedences.
    fn binary(&mut self, min_precedence: u8) -> Option<u32> {
        let mut left = self.unary()?;
        loop {
            let next = self.peek();
            if next.token != Token::Op {
                break;
            }
            let (kind, precedence): (&'static str, u8) = match self.text_of(next) {
                "|" => ("|", 14),
                "&" => ("&", 15),
                "<<" => ("<<", 17),
                ">>" => (">>", 17),
                "+" => ("+", 18),
                "-" => ("-", 18),
                "*" => ("*", 19),
                "/" => ("/", 19),
                "%" => ("%", 19),
                "//" => ("//", 19),
                // `^` and `**` are ordered differently by tree-sitter and Python; `@` is rare.
                "^" | "**" | "@" => return None,
                _ => break,
            };
            if precedence <= min_precedence {
                break;
            }
            let mark = self.builder.mark();
            self.builder.child_in(Field::Left, left);
            self.bump();
            let operator = self.builder.leaf(kind, next.start as usize, next.end as usize);
            self.builder.field(Field::Operator, operator);
            self.enter()?;
            let right = self.binary(precedence)?;
            self.leave();
            self.builder.child_in(Field::Right, right);
            left = self.builder.finish_spanning(mark, "binary_operator")?;
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<u32> {
        let next = self.peek();
        let kind = match (next.token, self.text_of(next)) {
            (Token::Op, "-") => "-",
            (Token::Op, "+") => "+",
            (Token::Op, "~") => "~",
            _ => return self.primary(),
        };
        let mark = self.builder.mark();
        self.bump();
        let operator = self.builder.leaf(kind, next.start as usize, next.end as usize);
        self.builder.field(Field::Operator, operator);
        self.prefix_operation(mark, "unary_operator", next.start as usize, Reader::unary)
    }

    /// `not x`, `-x`: the operand read by `operand` (one level deeper) becomes the `argument` field.
    fn prefix_operation(
        &mut self,
        mark: Mark,
        kind: &'static str,
        start: usize,
        operand: fn(&mut Self) -> Option<u32>,
    ) -> Option<u32> {
        self.enter()?;
        let argument = operand(self)?;
        self.leave();
        self.builder.child_in(Field::Argument, argument);
        let end = self.end(argument);
        Some(self.builder.finish(mark, kind, start, end))
    }

    /// An atom and what follows it: `.name`, `(arguments)`, `[index]`.
    fn primary(&mut self) -> Option<u32> {
        let mut node = self.atom()?;
        loop {
            if self.is_op(".") {
                let mark = self.builder.mark();
                self.builder.child_in(Field::Object, node);
                self.bump();
                let attribute = self.identifier()?;
                self.builder.child_in(Field::Attribute, attribute);
                node = self.builder.finish_spanning(mark, "attribute")?;
            } else if self.is_op("(") {
                let mark = self.builder.mark();
                self.builder.child_in(Field::Function, node);
                let arguments = self.argument_list()?;
                self.builder.child_in(Field::Arguments, arguments);
                node = self.builder.finish_spanning(mark, "call")?;
            } else if self.is_op("[") {
                let mark = self.builder.mark();
                self.builder.child_in(Field::Value, node);
                self.bump();
                let index = self.expression()?;
                self.builder.child(index);
                let close = self.expect(Token::Op, "]")?;
                let start = self.start(node);
                node = self.builder.finish(mark, "subscript", start, close.end as usize);
            } else {
                return Some(node);
            }
        }
    }

    fn argument_list(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let open = self.bump();
        self.enter()?;
        while !self.is_op(")") {
            let argument = self.argument()?;
            self.builder.child(argument);
            if self.expect(Token::Op, ",").is_none() {
                break;
            }
        }
        self.leave();
        let close = self.expect(Token::Op, ")")?;
        Some(self.builder.finish(mark, "argument_list", open.start as usize, close.end as usize))
    }

    fn argument(&mut self) -> Option<u32> {
        if let Some(splat) = self.splat()? {
            return Some(splat);
        }
        let keyword = self.peek().token == Token::Name && self.peek_at(1).is_some_and(|l| self.text_of(l) == "=");
        if !keyword {
            let value = self.expression()?;
            return (!self.is_word("for")).then_some(value);
        }
        let mark = self.builder.mark();
        let name = self.identifier()?;
        self.builder.child_in(Field::Name, name);
        self.bump();
        let value = self.expression()?;
        self.builder.child_in(Field::Value, value);
        self.builder.finish_spanning(mark, "keyword_argument")
    }

    /// `*value` or `**value`, when one is ahead.
    fn splat(&mut self) -> Option<Option<u32>> {
        let kind = match () {
            _ if self.is_op("*") => "list_splat",
            _ if self.is_op("**") => "dictionary_splat",
            _ => return Some(None),
        };
        let mark = self.builder.mark();
        let star = self.bump();
        let value = self.expression()?;
        self.builder.child(value);
        let end = self.end(value);
        Some(Some(self.builder.finish(mark, kind, star.start as usize, end)))
    }

    fn atom(&mut self) -> Option<u32> {
        let next = self.peek();
        let (start, end) = (next.start as usize, next.end as usize);
        match next.token {
            Token::Name => {
                let kind = match self.text_of(next) {
                    "True" => "true",
                    "False" => "false",
                    "None" => "none",
                    _ => return self.identifier(),
                };
                self.bump();
                Some(self.builder.leaf(kind, start, end))
            }
            Token::Number => {
                let kind = number_kind(self.text_of(next))?;
                self.bump();
                Some(self.builder.leaf(kind, start, end))
            }
            Token::String => self.strings(),
            Token::Op => match self.text_of(next) {
                "(" => self.parenthesized(),
                "[" => self.list(),
                "{" => self.dictionary(),
                "..." => {
                    self.bump();
                    Some(self.builder.leaf("ellipsis", start, end))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// A string literal, or adjacent ones (`"a" "b"`).
    fn strings(&mut self) -> Option<u32> {
        let first = self.string()?;
        if self.peek().token != Token::String {
            return Some(first);
        }
        let mark = self.builder.mark();
        self.builder.child(first);
        while self.peek().token == Token::String {
            let next = self.string()?;
            self.builder.child(next);
        }
        self.builder.finish_spanning(mark, "concatenated_string")
    }

    fn string(&mut self) -> Option<u32> {
        let lexeme = self.bump();
        let (start, end) = (lexeme.start as usize, lexeme.end as usize);
        let literal = &self.text.as_bytes()[start..end];
        let prefix = literal.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let quote = literal[prefix];
        let quotes =
            if literal[prefix..].starts_with(&[quote, quote, quote]) && literal.len() >= prefix + 6 { 3 } else { 1 };
        let mark = self.builder.mark();
        let opening = self.builder.leaf("string_start", start, start + prefix + quotes);
        self.builder.child(opening);
        let content = start + prefix + quotes..end - quotes;
        if literal[..prefix].iter().any(|c| c.eq_ignore_ascii_case(&b'f')) {
            self.format_content(content)?;
        } else if !content.is_empty() {
            let content = self.builder.leaf("string_content", content.start, content.end);
            self.builder.child(content);
        }
        let closing = self.builder.leaf("string_end", end - quotes, end);
        self.builder.child(closing);
        Some(self.builder.finish(mark, "string", start, end))
    }

    /// An f-string's text and `{expression}` parts. A part with a conversion (`!r`), a format
    /// (`:>10`), a string or a line break in it goes to tree-sitter.
    fn format_content(&mut self, content: Range<usize>) -> Option<()> {
        let bytes = self.text.as_bytes();
        let (mut piece, mut i) = (content.start, content.start);
        while i < content.end {
            match bytes[i] {
                b'{' | b'}' if bytes.get(i + 1) == Some(&bytes[i]) => i += 2,
                b'}' => return None,
                b'\\' => i += 2,
                b'{' => {
                    let close = i + 1 + bytes[i + 1..content.end].iter().position(|&c| c == b'}')?;
                    let inner = &bytes[i + 1..close];
                    let simple = |c: &u8| !b"{'\"\\:!=\n#".contains(c);
                    if inner.first().is_none_or(u8::is_ascii_whitespace) || !inner.iter().all(simple) {
                        return None;
                    }
                    if piece < i {
                        let text = self.builder.leaf("string_content", piece, i);
                        self.builder.child(text);
                    }
                    let mark = self.builder.mark();
                    let expression = self.sub_expression(i + 1..close)?;
                    self.builder.child(expression);
                    let interpolation = self.builder.finish(mark, "interpolation", i, close + 1);
                    self.builder.child(interpolation);
                    (piece, i) = (close + 1, close + 1);
                }
                _ => i += 1,
            }
        }
        if piece < content.end {
            let text = self.builder.leaf("string_content", piece, content.end);
            self.builder.child(text);
        }
        Some(())
    }

    /// An expression in `range` of the text, read on its own (an f-string's part).
    fn sub_expression(&mut self, range: Range<usize>) -> Option<u32> {
        let tokens = tokenize(self.text, &[range])?;
        let outer = (std::mem::replace(&mut self.tokens, tokens), self.at);
        self.at = 0;
        let expression = self.expression();
        let whole = self.peek().token == Token::Newline;
        (self.tokens, self.at) = outer;
        expression.filter(|_| whole)
    }

    /// `()`, `(x)`, `(x,)`, `(x, y)`.
    fn parenthesized(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let open = self.bump();
        self.enter()?;
        if let Some(close) = self.expect(Token::Op, ")") {
            self.leave();
            return Some(self.builder.finish(mark, "tuple", open.start as usize, close.end as usize));
        }
        let first = self.element()?;
        self.builder.child(first);
        if self.is_word("for") || self.builder.kind_of(first) == "list_splat" {
            return None;
        }
        let kind = if self.is_op(",") {
            self.rest_of_elements()?;
            "tuple"
        } else {
            "parenthesized_expression"
        };
        self.leave();
        let close = self.expect(Token::Op, ")")?;
        Some(self.builder.finish(mark, kind, open.start as usize, close.end as usize))
    }

    fn list(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let open = self.bump();
        self.enter()?;
        if !self.is_op("]") {
            let first = self.element()?;
            self.builder.child(first);
            if self.is_word("for") {
                return None;
            }
            self.rest_of_elements()?;
        }
        self.leave();
        let close = self.expect(Token::Op, "]")?;
        Some(self.builder.finish(mark, "list", open.start as usize, close.end as usize))
    }

    /// `, element` pairs up to the closing bracket.
    fn rest_of_elements(&mut self) -> Option<()> {
        while self.expect(Token::Op, ",").is_some() {
            if self.is_op(")") || self.is_op("]") {
                break;
            }
            let element = self.element()?;
            self.builder.child(element);
        }
        Some(())
    }

    fn element(&mut self) -> Option<u32> {
        if self.is_op("**") {
            return None;
        }
        match self.splat()? {
            Some(splat) => Some(splat),
            None => self.expression(),
        }
    }

    /// `{}`, `{key: value, **other}`, or a set `{a, b}`.
    fn dictionary(&mut self) -> Option<u32> {
        let mark = self.builder.mark();
        let open = self.bump();
        self.enter()?;
        let mut kind = "dictionary";
        let mut first = true;
        while !self.is_op("}") {
            let entry = if self.is_op("**") && kind == "dictionary" {
                self.splat()??
            } else {
                let key = self.expression()?;
                if kind == "set" || (first && !self.is_op(":")) {
                    kind = "set";
                    key
                } else {
                    self.pair(key)?
                }
            };
            first = false;
            if self.is_word("for") {
                return None;
            }
            self.builder.child(entry);
            if self.expect(Token::Op, ",").is_none() {
                break;
            }
        }
        self.leave();
        let close = self.expect(Token::Op, "}")?;
        Some(self.builder.finish(mark, kind, open.start as usize, close.end as usize))
    }

    fn pair(&mut self, key: u32) -> Option<u32> {
        let mark = self.builder.mark();
        self.builder.child_in(Field::Key, key);
        self.expect(Token::Op, ":")?;
        let value = self.expression()?;
        self.builder.child_in(Field::Value, value);
        self.builder.finish_spanning(mark, "pair")
    }
}

#[cfg(test)]
mod tests {
    use super::super::syntax::{from_tree_sitter, Node};
    use super::super::{outline_ranges, tree_sitter_parse, Prescan, TopLevel};
    use super::*;

    /// Where the two trees first differ, if they do.
    fn difference(fast: Node, reference: Node, text: &str) -> Option<String> {
        let describe = |n: Node| format!("{} {:?} {:?}", n.kind(), n.byte_range(), &text[n.byte_range()]);
        if fast.kind() != reference.kind() || fast.byte_range() != reference.byte_range() {
            return Some(format!("fast read {}, tree-sitter {}", describe(fast), describe(reference)));
        }
        let (a, b): (Vec<Node>, Vec<Node>) = (fast.children().collect(), reference.children().collect());
        if a.len() != b.len() {
            return Some(format!("{}: children {a:?} vs {b:?}", describe(fast)));
        }
        for field in Field::ALL {
            let (x, y): (Vec<Node>, Vec<Node>) = (fast.fields(field).collect(), reference.fields(field).collect());
            if x.len() != y.len()
                || x.iter().zip(&y).any(|(p, q)| p.byte_range() != q.byte_range() || p.kind() != q.kind())
            {
                return Some(format!("{}: field {field:?} {x:?} vs {y:?}", describe(fast)));
            }
        }
        a.into_iter().zip(b).find_map(|(x, y)| difference(x, y, text))
    }

    /// `Some(true)` when the fast reader read `text` and built tree-sitter's tree, `Some(false)`
    /// when it left the file to tree-sitter; a differing tree is a failure.
    fn check(text: &str, ranges: &[Range<usize>]) -> Result<bool, String> {
        let Some(fast) = read(text, ranges) else { return Ok(false) };
        if ranges.is_empty() {
            // To tree-sitter, no ranges means all of the text.
            return Ok(fast.root().children().next().is_none());
        }
        let reference = tree_sitter_parse(text, ranges).ok_or("tree-sitter failed")?;
        if reference.root_node().has_error() {
            return Err("the fast reader read a file tree-sitter finds an error in".into());
        }
        let reference = from_tree_sitter(&reference);
        let (fast_root, reference_root) = (fast.root(), reference.root());
        let children = |n: Node<'_>| n.children().map(|c| (c.kind(), c.byte_range())).collect::<Vec<_>>();
        if children(fast_root) != children(reference_root) {
            return Err(format!("module children {:?} vs {:?}", children(fast_root), children(reference_root)));
        }
        let first = fast_root.children().zip(reference_root.children()).find_map(|(a, b)| difference(a, b, text));
        first.map_or(Ok(true), Err)
    }

    /// Whether the outlines the readers ask for were read fast (the whole file is checked too,
    /// but a reader never asks for the imports).
    fn check_file(text: &str) -> Result<bool, String> {
        check(text, std::slice::from_ref(&(0..text.len())))?;
        let mut read = true;
        // The module level (Django, and Alembic's first pass), and Alembic's functions.
        let outlines: [&dyn Fn(TopLevel) -> bool; 2] = [
            &|statement| matches!(statement, TopLevel::Class(_) | TopLevel::Other),
            &|statement| matches!(statement, TopLevel::Def(name) if name != "downgrade"),
        ];
        for keep in outlines {
            let ranges = outline_ranges(text, &Prescan::of(text), keep)
                .unwrap_or_else(|| std::iter::once(0..text.len()).collect());
            read &= check(text, &ranges)?;
        }
        Ok(read)
    }

    /// Each snippet must be read fast, into tree-sitter's tree.
    #[test]
    fn reads_the_python_of_migrations_into_tree_sitters_tree() {
        let snippets = [
            "x = 1\ny = -2.5e-3\nz = 0x1F\nw = 10_000\nv = 1j\nu = .5\n",
            "s = 'a' \"b\" r'\\d' b'x' u'y' '''tri\nple''' \"\"\"\"\"\" ''\n",
            "e = 'it\\'s \\n \\x41'\n",
            "t = ()\nt1 = (1,)\nt2 = (1, 2,)\np = (a)\nl = []\nl2 = [1, *rest, 3,]\n",
            "d = {}\nd2 = {'a': 1, **other, 'b': [2]}\nst = {('a', 'b'), ('c',)}\n",
            "a = b = c\nx, y = f()\nq = 1, 2\no.attr = v\nm[0] = 1\n",
            "r = a + b * c - d // e % f\nbits = a | b & c << 2 >> 1\nneg = -x.y + ~z\n",
            "c = not a in b and x is not None or y < z <= w != v\n",
            "call(a, b=1, *args, **kwargs)\nobj.method(x)(y).other[0].z()\n",
            "def f(a, b=1, c: int = 2, d: str = 'x', *args, **kwargs) -> None:\n    return a, b\n",
            "def g():\n    '''Doc.'''\n    pass\n    return\n",
            "class Migration(migrations.Migration):\n    atomic = False\n    operations = [\n        migrations.AddField('m', 'f', models.CharField(max_length=10)),  # note\n    ]\n",
            "def upgrade():\n    with op.batch_alter_table('t') as batch_op, other():\n        batch_op.drop_column('c')\n",
            "if a:\n    x()\nelif b == 'postgresql':\n    y()\nelse:\n    z()\n",
            "for name, kind in pairs.items():\n    op.add_column(name, kind)\nelse:\n    done()\n",
            "x = [\n    1,\n\n    # a comment line\n    2,\n]\n",
            "def f():\n    if x:\n        if y:\n            pass\n    z = 1\n",
            "x = ...\nflag = True\nnothing = None\n",
            "name = f\"{model.lower()}_ptr\"\nother = f'{{literal}} {a}{b.c} end' F'{x}'\nraw = rf'\\d{n}'\n",
        ];
        for snippet in snippets {
            assert_eq!(check(snippet, std::slice::from_ref(&(0..snippet.len()))), Ok(true), "{snippet:?}");
        }
    }

    /// What the fast reader does not know goes to tree-sitter, which reads it as before.
    #[test]
    fn leaves_other_python_to_tree_sitter() {
        let snippets = [
            "x = [a for a in b]\n",
            "f = lambda: 1\n",
            "s = f'{x!r}'\n",
            "s = f'{x:>10}'\n",
            "s = f'{d[\"k\"]}'\n",
            "try:\n    import x\nexcept ImportError:\n    x = None\n",
            "@decorator\ndef f():\n    pass\n",
            "x = 1; y = 2\n",
            "def f():\n\tpass\n",
            "x = a if b else c\n",
            "x = 1 + \\\n    2\n",
            "x = a ** b\n",
            "x = (\n",
            "print 'python 2'\n",
            "x = 'unterminated\n",
            "y = ñ\n",
        ];
        for snippet in snippets {
            assert!(read(snippet, std::slice::from_ref(&(0..snippet.len()))).is_none(), "{snippet:?}");
        }
        let module = super::super::Module::parse("TABLE = 'items'\nX = [c for c in 'ab']\n").expect("parses");
        assert_eq!(module.constant("TABLE").and_then(|e| e.as_str().map(str::to_string)), Some("items".into()));
        assert!(module.constant("X").is_none(), "a comprehension is not a constant");
    }

    #[test]
    fn operators_and_numbers_are_told_apart() {
        let lengths: Vec<Option<usize>> =
            ["**=", "//", "->", ":=", "...", ".5", "<>", "!=", "!x", ";", "==", "<<=", "~"]
                .iter()
                .map(|op| operator_len(op.as_bytes()))
                .collect();
        let expected = [
            Some(3),
            Some(2),
            Some(2),
            Some(2),
            Some(3),
            Some(1),
            Some(2),
            Some(2),
            None,
            None,
            Some(2),
            Some(3),
            Some(1),
        ];
        assert_eq!(lengths, expected);
        let integers = ["1", "1_000", "0x1f", "0o17", "0b101", "10L", "1j"];
        let floats = ["1.5", "1e5", "1.5e-3j", ".5"];
        let neither = ["1x", "0xg", "1.2.3", "1e"];
        assert!(integers.iter().all(|n| number_kind(n) == Some("integer")), "{integers:?}");
        assert!(floats.iter().all(|n| number_kind(n) == Some("float")), "{floats:?}");
        assert!(neither.iter().all(|n| number_kind(n).is_none()), "{neither:?}");
    }

    #[test]
    fn builds_tree_sitters_tree_for_every_python_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let corpus = std::env::var("LOCKGATE_PYTHON_CORPUS").map_or(root.join("fixtures"), Into::into);
        let (mut read_fast, mut total) = (0, 0);
        let mut failures = vec![];
        for entry in walkdir::WalkDir::new(&corpus).into_iter().filter_map(Result::ok) {
            if entry.path().extension().is_none_or(|e| e != "py") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
            total += 1;
            match check_file(&text) {
                Ok(fast) => read_fast += usize::from(fast),
                Err(difference) => failures.push(format!("{}: {difference}", entry.path().display())),
            }
        }
        eprintln!("fast reader: {read_fast} of {total} files");
        assert!(failures.is_empty(), "{} files differ:\n{}", failures.len(), failures.join("\n"));
        assert!(total > 0);
    }
}
