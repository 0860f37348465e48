"""Absolute integer expressions in assembler directives, with llvm-mc's GNU-style rules.

Values are 64-bit two's complement; comparisons give -1 (true) or 0; `>>` shifts in zeros;
shift counts are taken modulo 64; `&&`/`||` give 1 or 0; `a ! b` is or-not. Operator precedence, lowest first:
`||`; `&&`; comparisons; `+ -`; `| ^ & !`; `* / % << >>`.
"""

import re
from collections.abc import Mapping

from isa.errors import DirectiveError

_MASK = (1 << 64) - 1

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>0[xX][0-9A-Za-z_]*|0[bB][0-9A-Za-z_]*|[0-9][0-9A-Za-z_]*)
  | (?P<char>'(?:\\.|[^'\\])')
  | (?P<name>[A-Za-z_.$][A-Za-z0-9_.$]*)
  | (?P<op>\|\||&&|==|!=|<>|<=|>=|<<|>>|[-+*/%|^&!~<>()])
""", re.VERBOSE)

_PRECEDENCE = {
    "||": 1, "&&": 2,
    "==": 3, "!=": 3, "<>": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4,
    "|": 5, "^": 5, "&": 5, "!": 5,
    "*": 6, "/": 6, "%": 6, "<<": 6, ">>": 6,
}
_CHAR_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "b": 8, "f": 12, "v": 11}


def ExprError(message: str, offset: int) -> DirectiveError:
    """A DirectiveError whose column is 1-based within the expression text."""
    return DirectiveError(message, 0, offset + 1)


def _signed(value: int) -> int:
    value &= _MASK
    return value - (1 << 64) if value >> 63 else value


def _parse_number(text: str, column: int) -> int:
    lower = text.lower()
    if "_" in text:
        raise ExprError(f"invalid number {text!r}", column)
    try:
        if lower.startswith("0x"):
            value = int(text[2:], 16)
        elif lower.startswith("0b"):
            value = int(text[2:], 2)
        elif len(text) > 1 and text[0] == "0":
            if not text.isdigit():
                raise ValueError
            if any(c in "89" for c in text):
                raise ExprError("invalid octal number", column)
            value = int(text, 8)
        else:
            value = int(text, 10)
    except ValueError:
        raise ExprError(f"invalid number {text!r}", column) from None
    if value > _MASK:
        raise ExprError("literal value out of range", column)
    return _signed(value)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(f"unexpected character {text[pos]!r} in expression", pos)
        kind = m.lastgroup
        if kind != "space":
            out.append((kind, m.group(), pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str, symbols: Mapping[str, int]):
        self.tokens = _tokens(text)
        self.pos = 0
        self.symbols = symbols

    def peek(self):
        return self.tokens[self.pos]

    def take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def primary(self) -> int:
        kind, text, column = self.take()
        if kind == "number":
            return _parse_number(text, column)
        if kind == "char":
            body = text[1:-1]
            if body.startswith("\\"):
                if body[1] not in _CHAR_ESCAPES:
                    raise ExprError(f"unknown escape in character literal {text}", column)
                return _CHAR_ESCAPES[body[1]]
            return ord(body)
        if kind == "name":
            if text not in self.symbols:
                raise ExprError(f"symbol {text!r} has no absolute value here", column)
            value = self.symbols[text]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ExprError(f"symbol {text!r} is not an integer", column)
            return _signed(value)
        if text == "(":
            value = self.binary(1)
            kind, text, column = self.take()
            if text != ")" or kind != "op":
                raise ExprError("expected ')'", column)
            return value
        if kind == "op" and text in "-~!+":
            operand = self.primary()
            if text == "-":
                return _signed(-operand)
            if text == "~":
                return _signed(~operand)
            if text == "!":
                return int(operand == 0)
            return operand
        raise ExprError("unknown token in expression" if kind != "end" else "missing value in expression", column)

    def binary(self, min_precedence: int) -> int:
        left = self.primary()
        while True:
            kind, op, column = self.peek()
            precedence = _PRECEDENCE.get(op, 0) if kind == "op" else 0
            if precedence < min_precedence or precedence == 0:
                return left
            self.take()
            right = self.binary(precedence + 1)
            left = _apply(op, left, right, column)


def _apply(op: str, a: int, b: int, column: int) -> int:
    if op in ("/", "%"):
        if b == 0:
            raise ExprError("division by zero in expression", column)
        if a == -(1 << 63) and b == -1:
            raise ExprError("division overflows 64 bits", column)
        quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        return _signed(quotient if op == "/" else a - quotient * b)
    results = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "<<": lambda: a << (b & 63),
        ">>": lambda: (a & _MASK) >> (b & 63),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b, "!": lambda: a | ~b,
        "==": lambda: -int(a == b), "!=": lambda: -int(a != b), "<>": lambda: -int(a != b),
        "<": lambda: -int(a < b), "<=": lambda: -int(a <= b), ">": lambda: -int(a > b),
        ">=": lambda: -int(a >= b),
        "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b)),
    }
    return _signed(results[op]())


def evaluate(text: str, symbols: Mapping[str, int] | None = None) -> int:
    """The signed 64-bit value of an absolute expression; DirectiveError (column relative to
    `text`) on anything else."""
    parser = _Parser(text, symbols or {})
    value = parser.binary(1)
    kind, _, column = parser.peek()
    if kind != "end":
        raise ExprError("unexpected token after expression", column)
    return value
