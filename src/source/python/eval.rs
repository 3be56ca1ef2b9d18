//! The evaluator: expressions of a parsed module reduced to [`Value`]s statically. Nothing is
//! imported or executed; anything dynamic becomes `Value::Dynamic`.

use super::{children, field, kind, span, Call, Expr, Field, Module, Node, Value};

impl Module<'_> {
    /// Evaluates an expression node statically.
    pub fn eval(&self, node: Node) -> Expr {
        let value = match kind(node) {
            "string" => self.string(node),
            "concatenated_string" => {
                let parts: Vec<Expr> = children(node).map(|n| self.eval(n)).collect();
                concat(parts.iter().map(|p| p.as_str()).collect())
            }
            "integer" => parse_int(self.text_of(node)).map_or_else(|| Value::Dynamic("integer".into()), Value::Int),
            "float" => self.text_of(node).replace('_', "").parse().map_or(Value::Dynamic("float".into()), Value::Float),
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "none" => Value::None,
            "list" => Value::List(self.elements(node)),
            "tuple" => Value::Tuple(self.elements(node)),
            "set" => Value::Set(self.elements(node)),
            "parenthesized_expression" => match children(node).next() {
                Some(inner) => return self.eval_at(inner, node),
                None => Value::Tuple(vec![]),
            },
            "dictionary" => Value::Dict(
                children(node)
                    .filter(|n| kind(*n) == "pair")
                    .filter_map(|pair| {
                        Some((self.eval(field(pair, Field::Key)?), self.eval(field(pair, Field::Value)?)))
                    })
                    .collect(),
            ),
            "call" => self.call(node),
            "identifier" => match self.bound(self.text_of(node)) {
                Some(bound) => bound.value,
                None => Value::Name(self.text_of(node).to_string()),
            },
            "attribute" => match dotted(self, node) {
                Some(name) => Value::Name(name),
                None => Value::Dynamic("attribute of an expression".into()),
            },
            "binary_operator" => self.binary(node),
            // `~Q(…)`: Django's negated condition, kept as a call of the operator.
            "unary_operator" if self.text_of(node).starts_with('~') => {
                match field(node, Field::Argument).map(|a| self.eval(a)) {
                    Some(operand @ Expr { value: Value::Call(_), .. }) => {
                        Value::Call(operator_call("~", vec![operand]))
                    }
                    _ => Value::Dynamic("expression".into()),
                }
            }
            "unary_operator" if self.text_of(node).starts_with('-') => {
                match field(node, Field::Argument).map(|a| self.eval(a).value) {
                    Some(Value::Int(i)) => Value::Int(-i),
                    Some(Value::Float(f)) => Value::Float(-f),
                    _ => Value::Dynamic("expression".into()),
                }
            }
            other => Value::Dynamic(other.replace('_', " ")),
        };
        Expr { value, span: span(node) }
    }

    fn eval_at(&self, inner: Node, outer: Node) -> Expr {
        Expr { value: self.eval(inner).value, span: span(outer) }
    }

    fn elements(&self, node: Node) -> Vec<Expr> {
        children(node).map(|n| self.eval(n)).collect()
    }

    fn string(&self, node: Node) -> Value {
        let (mut raw, mut format) = (false, false);
        let mut out = String::new();
        for part in children(node) {
            match kind(part) {
                "string_start" => {
                    for letter in self.text_of(part).bytes().take_while(u8::is_ascii_alphabetic) {
                        raw |= letter.eq_ignore_ascii_case(&b'r');
                        format |= letter.eq_ignore_ascii_case(&b'f');
                    }
                }
                "interpolation" if format => return Value::Dynamic("f-string".into()),
                "string_content" if raw => out.push_str(self.text_of(part)),
                "string_content" | "escape_sequence" => unescape_into(self.text_of(part), &mut out),
                _ => {}
            }
        }
        Value::Str(out)
    }

    fn call(&self, node: Node) -> Value {
        let Some(function) = field(node, Field::Function) else { return Value::Dynamic("call".into()) };
        let Some((func, receiver)) = self.callee(function) else {
            return Value::Dynamic("call of an expression".into());
        };
        let mut call = Call { func, args: vec![], kwargs: vec![], splat: false, receiver };
        let arguments = field(node, Field::Arguments);
        for argument in arguments.into_iter().flat_map(children) {
            match kind(argument) {
                "keyword_argument" => {
                    let (Some(name), Some(value)) = (field(argument, Field::Name), field(argument, Field::Value))
                    else {
                        continue;
                    };
                    call.kwargs.push((self.text_of(name).to_string(), self.eval(value)));
                }
                "list_splat" | "dictionary_splat" => call.splat = true,
                "comment" => {}
                _ => call.args.push(self.eval(argument)),
            }
        }
        set_of(call)
    }

    /// The dotted name of what is called, and the call it is a method of, if any.
    fn callee(&self, function: Node) -> Option<(String, Option<Box<Expr>>)> {
        if kind(function) == "attribute" {
            let object = field(function, Field::Object)?;
            let attribute = self.text_of(field(function, Field::Attribute)?);
            let receiver = match kind(object) {
                "call" => Some(self.eval(object)),
                "identifier" => self.bound(self.text_of(object)).map(|e| Expr { span: span(object), ..e }),
                _ => None,
            };
            if let Some(receiver) = receiver {
                if let Value::Call(inner) = &receiver.value {
                    return Some((format!("{}().{attribute}", inner.func), Some(Box::new(receiver))));
                }
            }
            // A method of some other value (`", ".join(…)`, `rows[0].get(…)`): named by the method.
            if dotted(self, object).is_none() {
                return Some((format!("(…).{attribute}"), None));
            }
        }
        dotted(self, function).map(|name| (name, None))
    }

    fn binary(&self, node: Node) -> Value {
        let (Some(left), Some(right)) = (field(node, Field::Left), field(node, Field::Right)) else {
            return Value::Dynamic("expression".into());
        };
        let operator = field(node, Field::Operator).map(|o| self.text_of(o)).unwrap_or("");
        match (operator, self.eval(left).value, self.eval(right).value) {
            ("+", Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            ("+", Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_add(b)),
            ("*", Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_mul(b)),
            // `Q(…) & Q(…)`, `Q(…) | Q(…)`: combined conditions, kept as a call of the operator.
            (op @ ("&" | "|"), left @ Value::Call(_), right @ Value::Call(_)) => {
                let operands = vec![Expr { value: left, span: span(node) }, Expr { value: right, span: span(node) }];
                Value::Call(operator_call(op, operands))
            }
            _ => Value::Dynamic(format!("`{}` expression", operator)),
        }
    }
}

/// An operator applied to calls, as a call named by the operator (`&`, `|`, `~`).
fn operator_call(operator: &str, args: Vec<Expr>) -> Call {
    Call { func: operator.to_string(), args, kwargs: vec![], splat: false, receiver: None }
}

fn concat(parts: Vec<Option<&str>>) -> Value {
    let mut out = String::new();
    for part in parts {
        match part {
            Some(text) => out.push_str(text),
            None => return Value::Dynamic("string built at run time".into()),
        }
    }
    Value::Str(out)
}

fn parse_int(text: &str) -> Option<i64> {
    let text = text.replace('_', "").to_ascii_lowercase();
    let text = text.trim_end_matches('l');
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    text.parse().ok()
}

/// Python escape sequences inside a non-raw string.
fn unescape_into(text: &str, out: &mut String) {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
}

/// `a.b.c` for identifiers and attribute chains; `None` for anything computed.
fn dotted(module: &Module, node: Node) -> Option<String> {
    let mut name = String::new();
    dotted_into(module, node, &mut name).then_some(name)
}

fn dotted_into(module: &Module, node: Node, name: &mut String) -> bool {
    match kind(node) {
        "identifier" => name.push_str(module.text_of(node)),
        "attribute" => {
            let (Some(object), Some(attribute)) = (field(node, Field::Object), field(node, Field::Attribute)) else {
                return false;
            };
            if !dotted_into(module, object, name) {
                return false;
            }
            name.push('.');
            name.push_str(module.text_of(attribute));
        }
        _ => return false,
    }
    true
}

/// `set()`, `set([…])`, `frozenset((…))`: the set of a literal collection; other calls stay calls.
fn set_of(call: Call) -> Value {
    let builtin = matches!(call.func.as_str(), "set" | "frozenset") && call.receiver.is_none();
    if !builtin || call.splat || !call.kwargs.is_empty() {
        return Value::Call(call);
    }
    match call.args.as_slice() {
        [] => Value::Set(vec![]),
        [collection] => match collection.items() {
            Some(items) => Value::Set(items.to_vec()),
            None => Value::Call(call),
        },
        _ => Value::Call(call),
    }
}
