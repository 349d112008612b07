"""Tokenizer and recursive-descent parser of rate expressions.

Grammar, loosest binding first (all binary operators left-associative except
``**``/``^``; comparisons do not chain)::

    expr    := or
    or      := and   (("or" | "||") and)*
    and     := not   (("and" | "&&") not)*
    not     := ("not" | "!") not | cmp          # not a < b  ==  not (a < b)
    cmp     := sum   [("<" | "<=" | ">" | ">=" | "==" | "!=") sum]
    sum     := prod  (("+" | "-") prod)*
    prod    := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := atom  [("**" | "^") unary]        # right-assoc; -x**2 == -(x**2)
    atom    := NUMBER | NAME | NAME "(" [expr ("," expr)*] ")" | "(" expr ")"

Names are ``[A-Za-z_][A-Za-z0-9_]*`` optionally followed by dotted parts
(``ht.eht``).  Name resolution, in order:

1. a name followed by ``(`` is a function (built-ins, or the ``functions``
   passed in); model names never shadow functions;
2. a model name (in ``names``) is a symbol;
3. a time name (default ``time`` and ``t``) is the independent variable;
4. a built-in constant: ``pi``, ``e``/``exponentiale``, ``inf``/``INF``/
   ``infinity``, ``nan``/``NaN``, ``true``, ``false``.

So model names shadow time names and constants: a species called ``e`` or
``t`` is that species.  ``and``, ``or``, ``not`` are keywords.  With
``names=None`` every other name is accepted as a symbol.
"""
from __future__ import annotations

import difflib
import math
import re
from typing import Iterable, Mapping, NamedTuple, Sequence

from ..errors import ArityError, ExpressionError, UnknownNameError
from . import nodes as N
from .nodes import Node
from .ops import Op

__all__ = ["parse", "tokenize", "Token", "FUNCTIONS", "CONSTANTS",
           "DEFAULT_TIME_NAMES", "KEYWORDS"]

DEFAULT_TIME_NAMES = ("time", "t")
KEYWORDS = frozenset({"and", "or", "not"})

CONSTANTS: dict = {
    "pi": math.pi, "e": math.e, "exponentiale": math.e,
    "inf": math.inf, "INF": math.inf, "infinity": math.inf,
    "nan": math.nan, "NaN": math.nan, "true": 1.0, "false": 0.0,
}


class Token(NamedTuple):
    kind: str   # "num", "name", "op", "(", ")", ",", "end"
    text: str
    pos: int


_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_OPS = ("**", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "^",
        "<", ">", "!")
_TOKEN_RE = re.compile(
    rf"(?P<ws>\s+)|(?P<num>{_NUMBER})|(?P<name>{_NAME})|(?P<op>"
    + "|".join(re.escape(o) for o in _OPS)
    + r")|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)")
_KIND = {"lp": "(", "rp": ")", "comma": ","}


def tokenize(text: str) -> list:
    """Split ``text`` into tokens; raises ExpressionError on a bad character."""
    toks = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup
        if kind == "num":
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                j = end
                while j < n and (text[j].isalnum() or text[j] in "_."):
                    j += 1
                raise ExpressionError(f"malformed number {text[pos:j]!r}", text, pos)
        if kind == "name" and m.end() < n and text[m.end()] == ".":
            raise ExpressionError("malformed name: a dot must be followed by a name part",
                                  text, m.end())
        if kind != "ws":
            toks.append(Token(_KIND.get(kind, kind), m.group(), pos))
        pos = m.end()
    toks.append(Token("end", "", n))
    return toks


# --- functions ---------------------------------------------------------------
def _unary(op):
    return lambda a: N.make(op, a)


def _binary(op):
    return lambda a, b: N.make(op, a, b)


def _fold_left(op):
    def build(*args):
        r = args[0]
        for a in args[1:]:
            r = N.make(op, r, a)
        return r
    return build


def _piecewise(*args):
    # SBML order: value1, cond1, value2, cond2, ..., [otherwise]
    if len(args) % 2:
        r = args[-1]
        pairs = args[:-1]
    else:
        r = N.const(math.nan)  # no condition holds and no otherwise: undefined
        pairs = args
    for i in range(len(pairs) - 2, -1, -2):
        r = N.select(pairs[i + 1], pairs[i], r)
    return r


def _log(*args):
    if len(args) == 1:
        return N.make(Op.LOG, args[0])
    base, x = args  # SBML log(base, x)
    if base.is_const and base.value == 10.0:
        return N.make(Op.LOG10, x)
    return N.div(N.make(Op.LOG, x), N.make(Op.LOG, base))


def _root(*args):
    if len(args) == 1:
        return N.make(Op.SQRT, args[0])
    degree, x = args  # SBML root(degree, x)
    return N.pow_(x, N.div(N.ONE, degree))


#: name -> (min args, max args or None for variadic, builder)
FUNCTIONS: dict = {
    "exp": (1, 1, _unary(Op.EXP)),
    "log": (1, 2, _log),
    "ln": (1, 1, _unary(Op.LOG)),
    "log10": (1, 1, _unary(Op.LOG10)),
    "sqrt": (1, 1, _unary(Op.SQRT)),
    "root": (1, 2, _root),
    "pow": (2, 2, _binary(Op.POW)),
    "power": (2, 2, _binary(Op.POW)),
    "min": (2, None, _fold_left(Op.MIN)),
    "max": (2, None, _fold_left(Op.MAX)),
    "abs": (1, 1, _unary(Op.ABS)),
    "sin": (1, 1, _unary(Op.SIN)),
    "cos": (1, 1, _unary(Op.COS)),
    "tan": (1, 1, _unary(Op.TAN)),
    "asin": (1, 1, _unary(Op.ASIN)),
    "acos": (1, 1, _unary(Op.ACOS)),
    "atan": (1, 1, _unary(Op.ATAN)),
    "atan2": (2, 2, _binary(Op.ATAN2)),
    "sinh": (1, 1, _unary(Op.SINH)),
    "cosh": (1, 1, _unary(Op.COSH)),
    "tanh": (1, 1, _unary(Op.TANH)),
    "floor": (1, 1, _unary(Op.FLOOR)),
    "ceil": (1, 1, _unary(Op.CEIL)),
    "ceiling": (1, 1, _unary(Op.CEIL)),
    "sign": (1, 1, _unary(Op.SIGN)),
    "piecewise": (1, None, _piecewise),
    "if": (3, 3, N.select),
    "ifelse": (3, 3, N.select),
    "xor": (2, None, _fold_left(Op.XOR)),
    "copy": (1, 1, _unary(Op.COPY)),
}

_CMP = {"<": Op.LT, "<=": Op.LE, ">": Op.GT, ">=": Op.GE, "==": Op.EQ, "!=": Op.NE}


def _plural(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


class _Parser:
    def __init__(self, text, names, time_names, functions):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.names = names
        self.time_names = frozenset(time_names)
        self.functions = functions or {}

    # helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, kind, *texts) -> bool:
        t = self.tok
        return t.kind == kind and (not texts or t.text in texts)

    def at_word(self, *words) -> bool:
        t = self.tok
        return t.kind == "name" and t.text in words

    def error(self, tok: Token, what: str | None = None):
        if tok.kind == "end":
            return ExpressionError(what or "unexpected end of expression", self.text, tok.pos)
        return ExpressionError(what or f"unexpected {tok.text!r}", self.text, tok.pos)

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExpressionError("empty expression", self.text, 0)
        node, _ = self.expr()
        t = self.tok
        if t.kind == ")":
            raise ExpressionError("unbalanced parenthesis: unexpected ')'", self.text, t.pos)
        if t.kind != "end":
            raise ExpressionError(f"unexpected {t.text!r} after the end of the expression",
                                  self.text, t.pos)
        return node

    def expr(self):
        return self.or_()

    def or_(self):
        a, pos = self.and_()
        while self.at("op", "||") or self.at_word("or"):
            self.advance()
            b, _ = self.and_()
            a = N.or_(a, b)
        return a, pos

    def and_(self):
        a, pos = self.not_()
        while self.at("op", "&&") or self.at_word("and"):
            self.advance()
            b, _ = self.not_()
            a = N.and_(a, b)
        return a, pos

    def not_(self):
        if self.at("op", "!") or self.at_word("not"):
            t = self.advance()
            a, _ = self.not_()
            return N.not_(a), t.pos
        return self.cmp()

    def cmp(self):
        a, pos = self.sum()
        if self.at("op", *_CMP):
            t = self.advance()
            b, _ = self.sum()
            a = N.make(_CMP[t.text], a, b)
            if self.at("op", *_CMP):
                raise ExpressionError(
                    "comparisons cannot be chained; write (a < b) and (b < c)",
                    self.text, self.tok.pos)
        return a, pos

    def sum(self):
        a, pos = self.prod()
        while self.at("op", "+", "-"):
            t = self.advance()
            b, _ = self.prod()
            a = N.add(a, b) if t.text == "+" else N.sub(a, b)
        return a, pos

    def prod(self):
        a, pos = self.unary()
        while self.at("op", "*", "/"):
            t = self.advance()
            bpos = self.tok.pos
            b, _ = self.unary()
            if t.text == "*":
                a = N.mul(a, b)
            else:
                if b.is_const and b.value == 0.0:
                    raise ExpressionError("division by zero", self.text, bpos)
                a = N.div(a, b)
        return a, pos

    def unary(self):
        if self.at("op", "-", "+"):
            t = self.advance()
            a, _ = self.unary()
            return (N.neg(a) if t.text == "-" else a), t.pos
        return self.power()

    def power(self):
        a, pos = self.atom()
        if self.at("op", "**", "^"):
            self.advance()
            b, _ = self.unary()
            a = N.pow_(a, b)
        return a, pos

    def atom(self):
        t = self.tok
        if t.kind == "num":
            self.advance()
            return N.const(float(t.text)), t.pos
        if t.kind == "(":
            self.advance()
            if self.tok.kind == ")":
                raise self.error(self.tok, "empty parentheses")
            a, _ = self.expr()
            if self.tok.kind != ")":
                if self.tok.kind == "end":
                    raise ExpressionError("unbalanced parenthesis: '(' is never closed",
                                          self.text, t.pos)
                raise self.error(self.tok, f"expected ')' to close the '(' at position {t.pos},"
                                           f" found {self.tok.text!r}")
            self.advance()
            return a, t.pos
        if t.kind == "name" and t.text not in KEYWORDS:
            self.advance()
            if self.tok.kind == "(":
                return self.call(t), t.pos
            return self.resolve(t), t.pos
        raise self.error(t)

    def call(self, name: Token) -> Node:
        lp = self.advance()
        args = []
        if self.tok.kind != ")":
            while True:
                if self.tok.kind in (",", ")"):
                    raise self.error(self.tok, "missing function argument")
                a, _ = self.expr()
                args.append(a)
                if self.tok.kind == ",":
                    self.advance()
                    continue
                if self.tok.kind == ")":
                    break
                if self.tok.kind == "end":
                    raise ExpressionError("unbalanced parenthesis: '(' is never closed",
                                          self.text, lp.pos)
                raise self.error(self.tok, f"expected ',' or ')' in the call of "
                                           f"{name.text}(), found {self.tok.text!r}")
        self.advance()
        fn = name.text
        if fn in self.functions:
            params, body = self.functions[fn]
            if len(args) != len(params):
                raise ArityError(f"{fn}() takes {_plural(len(params))}, got {len(args)}",
                                 self.text, name.pos)
            return N.substitute(body, dict(zip(params, args)))
        spec = FUNCTIONS.get(fn)
        if spec is None:
            if self.names is not None and fn in self.names or fn in self.time_names:
                raise ExpressionError(f"{fn!r} is not a function", self.text, name.pos)
            close = difflib.get_close_matches(fn, list(FUNCTIONS) + list(self.functions), n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ExpressionError(f"unknown function {fn!r}{hint}", self.text, name.pos)
        lo, hi, build = spec
        if len(args) < lo or (hi is not None and len(args) > hi):
            if hi is None:
                want = f"at least {_plural(lo)}"
            elif lo == hi:
                want = _plural(lo)
            else:
                want = f"{lo} to {hi} arguments"
            raise ArityError(f"{fn}() takes {want}, got {len(args)}", self.text, name.pos)
        return build(*args)

    def resolve(self, t: Token) -> Node:
        name = t.text
        if self.names is None or name in self.names:
            if self.names is None and (name in self.time_names or name in CONSTANTS):
                pass
            else:
                return N.sym(name)
        if name in self.time_names:
            return N.time()
        if name in CONSTANTS:
            return N.const(CONSTANTS[name])
        candidates = list(self.names) + sorted(self.time_names)
        close = difflib.get_close_matches(name, candidates, n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise UnknownNameError(f"unknown name {name!r}{hint}", self.text, t.pos)


def _compile_functions(functions, time_names):
    if not functions:
        return {}
    out = {}
    for fname, (params, body) in functions.items():
        params = tuple(params)
        if isinstance(body, str):
            body = parse(body, names=params, time_names=time_names)
        out[fname] = (params, body)
    return out


def parse(text: str, names: "Iterable[str] | None" = None, *,
          time_names: Sequence[str] = DEFAULT_TIME_NAMES,
          functions: "Mapping[str, tuple[Sequence[str], Node | str]] | None" = None) -> Node:
    """Parse ``text`` into an expression node.

    Parameters
    ----------
    text : str
        The expression.
    names : iterable of str, optional
        The model's names (states and parameters).  When given, any other
        name raises :class:`UnknownNameError` (with close matches suggested).
        When ``None``, every unrecognised name becomes a symbol.
    time_names : sequence of str
        Names of the independent variable (default ``("time", "t")``).
    functions : mapping, optional
        User functions ``{name: (parameter names, body)}`` (body a string
        over the parameter names, or a node), inlined at each call (SBML
        function definitions).

    Raises
    ------
    ExpressionError
        With the text and the 0-based position of the offending token:
        bad characters, malformed numbers, unbalanced parentheses, trailing
        garbage, empty input, unknown functions, division by a zero constant,
        chained comparisons.  Subclasses :class:`UnknownNameError` and
        :class:`ArityError` for unknown names and wrong argument counts.
    """
    if not isinstance(text, str):
        raise TypeError(f"an expression must be a string, not {type(text).__name__}")
    nameset = None if names is None else frozenset(names)
    fns = _compile_functions(functions, time_names)
    parser = _Parser(text, nameset, time_names, fns)
    try:
        return parser.parse()
    except RecursionError:
        raise ExpressionError("expression nested too deeply (build very deep expressions "
                              "with the neurokin.expr node functions instead)",
                              text, parser.tok.pos) from None
