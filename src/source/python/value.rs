//! The value model: a Python expression reduced to what a migration needs (literals, dotted
//! names, calls with their arguments), each with the span it was read from.

use crate::ir::Span;

/// A Python expression reduced to what a migration needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    /// A set literal, or a `set(…)`/`frozenset(…)` call of a literal collection: what
    /// `makemigrations` writes for `unique_together` and `index_together`.
    Set(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Call(Call),
    /// A name or dotted attribute that is not a known constant: `models.CASCADE`, `settings.AUTH_USER_MODEL`.
    Name(String),
    /// Something computed at run time (an f-string, a comprehension, an operator); the text says what.
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The dotted callee: `migrations.AddField`, `models.CharField`, `op.add_column`.
    pub func: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    /// `*args` or `**kwargs` were passed: arguments may be missing from `args`/`kwargs`.
    pub splat: bool,
    /// For a method called on the result of another call (`sa.update(t).where(…)`, or
    /// `conn.execute(…)` after `conn = op.get_bind()`), that call; `func` then reads
    /// `sa.update().where`.
    pub receiver: Option<Box<Expr>>,
}

impl Call {
    /// The callee's last dotted part: `migrations.AddField` → `AddField`.
    pub fn name(&self) -> &str {
        self.func.rsplit('.').next().unwrap_or(&self.func)
    }

    pub fn kwarg(&self, name: &str) -> Option<&Expr> {
        self.kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A keyword argument, or the positional argument at `position`.
    pub fn arg(&self, name: &str, position: usize) -> Option<&Expr> {
        self.kwarg(name).or_else(|| self.args.get(position))
    }

    /// The call a method was called on, when it was one.
    pub fn receiver_call(&self) -> Option<&Call> {
        self.receiver.as_deref().and_then(Expr::as_call)
    }
}

impl Expr {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&Call> {
        match &self.value {
            Value::Call(call) => Some(call),
            _ => None,
        }
    }

    /// Elements of a list, tuple or set. Every collection the front ends read goes through this,
    /// so a migration may write any of the three where Python accepts any iterable.
    pub fn items(&self) -> Option<&[Expr]> {
        match &self.value {
            Value::List(items) | Value::Tuple(items) | Value::Set(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        self.value == Value::None
    }
}
