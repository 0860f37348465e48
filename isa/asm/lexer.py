"""Tokens and integer expressions of the assembly language.

One compiled regular expression splits an operand string into tokens; `ExprParser` reads
LLVM MC expressions from them with GNU `as` operator precedence (64-bit wrap-around arithmetic,
logical right shift, comparisons yielding -1 for true). An expression that names a symbol stays
a small tree until the symbol's value is known.
"""

import re
import struct

from isa.errors import AsmError

# Token kinds: 'int', 'real', 'id', 'str', 'end', or the punctuation text itself.
_TOKEN_RE = re.compile(r"""
    [ \t\r\f\v]*(?:
      (?P<real>(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)
     |(?P<int>0[xX][0-9A-Fa-f]+|0[bB][01]+|[0-9]+)
     |(?P<id>[A-Za-z_.$][A-Za-z0-9_.$@]*)
     |(?P<str>"(?:[^"\\]|\\.)*")
     |(?P<op>::|<<|>>|<=|>=|==|!=|<>|&&|\|\||[-+*/%&|^~!()\[\],:<>=])
     |(?P<bad>[^ \t\r\f\v])
    )""", re.X)

MASK64 = (1 << 64) - 1


class Token(tuple):
    """(kind, text, column) with column 0-based within the tokenized string."""
    __slots__ = ()

    @property
    def kind(self) -> str:
        return self[0]

    @property
    def text(self) -> str:
        return self[1]

    @property
    def col(self) -> int:
        return self[2]


def tokenize(text: str, base_col: int = 0) -> list:
    """Split `text` into tokens; the list ends with an 'end' token."""
    out = []
    append = out.append
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == 'op':
            kind = m.group('op')
        elif kind == 'bad':
            raise AsmError(f"unexpected character '{m.group(kind)}'", 0, base_col + m.start(kind) + 1)
        append(Token((kind, m.group(m.lastgroup), base_col + m.start(m.lastgroup))))
    append(Token(('end', '', base_col + len(text.rstrip()))))
    return out


def int_token_value(text: str) -> int:
    """The value of an integer token as LLVM reads it (64-bit, two's complement wrap)."""
    t = text.lower()
    if t.startswith('0x'):
        v = int(t[2:], 16)
    elif t.startswith('0b'):
        v = int(t[2:], 2)
    elif len(t) > 1 and t[0] == '0':
        if any(c in '89' for c in t):
            raise ValueError('invalid octal number')
        v = int(t, 8)
    else:
        v = int(t)
    if v > MASK64:
        raise ValueError('literal value out of range')
    return v


def wrap64(v: int) -> int:
    """A Python int reduced to a signed 64-bit value."""
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v


# Binary operators: token -> (precedence, name). GNU `as` precedence as LLVM MC uses it.
BINOPS = {
    '||': (1, '||'), '&&': (2, '&&'),
    '==': (3, '=='), '!=': (3, '!='), '<>': (3, '!='), '<': (3, '<'), '<=': (3, '<='),
    '>': (3, '>'), '>=': (3, '>='),
    '+': (4, '+'), '-': (4, '-'),
    '|': (5, '|'), '!': (5, '|~'), '^': (5, '^'), '&': (5, '&'),
    '*': (6, '*'), '/': (6, '/'), '%': (6, '%'), '<<': (6, '<<'), '>>': (6, '>>'),
}


def apply_binop(op: str, a: int, b: int) -> int:
    if op == '+':
        r = a + b
    elif op == '-':
        r = a - b
    elif op == '*':
        r = a * b
    elif op in ('/', '%'):
        if b == 0:
            raise ZeroDivisionError
        q = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            q = -q
        r = q if op == '/' else a - q * b
    elif op == '<<':
        r = a << (b & 63) if 0 <= b < 64 else 0
    elif op == '>>':
        r = (a & MASK64) >> b if 0 <= b < 64 else 0
    elif op == '&':
        r = a & b
    elif op == '|':
        r = a | b
    elif op == '^':
        r = a ^ b
    elif op == '|~':
        r = a | ~b
    elif op == '&&':
        r = 1 if (a and b) else 0
    elif op == '||':
        r = 1 if (a or b) else 0
    elif op == '==':
        r = -1 if a == b else 0
    elif op == '!=':
        r = -1 if a != b else 0
    elif op == '<':
        r = -1 if a < b else 0
    elif op == '<=':
        r = -1 if a <= b else 0
    elif op == '>':
        r = -1 if a > b else 0
    else:  # '>='
        r = -1 if a >= b else 0
    return wrap64(r)


def apply_unop(op: str, a: int) -> int:
    if op == '-':
        return wrap64(-a)
    if op == '~':
        return wrap64(~a)
    if op == '!':
        return 0 if a else 1
    return a


class Expr:
    """An expression that names symbols: ('sym', name) | ('dot',) | ('num', v) |
    ('un', op, e) | ('bin', op, a, b). Evaluated once symbol values are known."""
    __slots__ = ('node', 'col')

    def __init__(self, node, col: int):
        self.node = node
        self.col = col

    def __repr__(self):
        return f"Expr({self.node!r})"

    def symbols(self):
        stack = [self.node]
        while stack:
            n = stack.pop()
            if n[0] == 'sym':
                yield n[1]
            elif n[0] == 'un':
                stack.append(n[2])
            elif n[0] == 'bin':
                stack.append(n[2])
                stack.append(n[3])

    def evaluate(self, lookup, dot: int | None = None) -> int:
        """The value, with `lookup(name)` giving a symbol's value (or None when unknown)."""
        def ev(n):
            k = n[0]
            if k == 'num':
                return n[1]
            if k == 'sym':
                v = lookup(n[1])
                if v is None:
                    raise AsmError(f"undefined symbol '{n[1]}'", 0, self.col + 1)
                return v
            if k == 'dot':
                if dot is None:
                    raise AsmError("expected absolute expression", 0, self.col + 1)
                return dot
            if k == 'un':
                return apply_unop(n[1], ev(n[2]))
            try:
                return apply_binop(n[1], ev(n[2]), ev(n[3]))
            except ZeroDivisionError:
                raise AsmError("division by zero", 0, self.col + 1) from None
        return ev(self.node)


def _fold(node):
    """Constant-fold a node: an int when it names no symbol."""
    return node[1] if node[0] == 'num' else node


class ExprParser:
    """A cursor over a token list with the expression grammar of LLVM MC."""
    __slots__ = ('toks', 'i')

    def __init__(self, toks: list, i: int = 0):
        self.toks = toks
        self.i = i

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self):
        return self.toks[self.i]

    def peek(self, n: int = 1):
        j = self.i + n
        return self.toks[j] if j < len(self.toks) else self.toks[-1]

    def kind(self) -> str:
        return self.toks[self.i][0]

    def advance(self):
        t = self.toks[self.i]
        if t[0] != 'end':
            self.i += 1
        return t

    def accept(self, kind: str) -> bool:
        if self.toks[self.i][0] == kind:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, message: str):
        t = self.toks[self.i]
        if t[0] != kind:
            raise AsmError(message, 0, t[2] + 1)
        self.i += 1
        return t

    def error(self, message: str, tok=None):
        t = tok if tok is not None else self.toks[self.i]
        return AsmError(message, 0, t[2] + 1)

    # -- expressions -------------------------------------------------------------------
    def parse_expr(self):
        """An int, or an Expr when the expression names symbols."""
        start = self.toks[self.i][2]
        node = self._binary(1)
        if node[0] == 'num':
            return node[1]
        return Expr(node, start)

    def parse_primary_value(self):
        """A primary expression only (no binary operators): used inside |...|."""
        start = self.toks[self.i][2]
        node = self._primary()
        if node[0] == 'num':
            return node[1]
        return Expr(node, start)

    def _binary(self, min_prec: int):
        lhs = self._primary()
        while True:
            t = self.toks[self.i]
            op = BINOPS.get(t[0])
            if op is None or op[0] < min_prec:
                return lhs
            self.i += 1
            rhs = self._binary(op[0] + 1)
            if lhs[0] == 'num' and rhs[0] == 'num':
                try:
                    lhs = ('num', apply_binop(op[1], lhs[1], rhs[1]))
                except ZeroDivisionError:
                    raise AsmError("division by zero", 0, t[2] + 1) from None
            else:
                lhs = ('bin', op[1], lhs, rhs)

    def _primary(self):
        t = self.toks[self.i]
        k = t[0]
        if k == 'int':
            self.i += 1
            try:
                return ('num', wrap64(int_token_value(t[1])))
            except ValueError as e:
                raise AsmError(str(e), 0, t[2] + 1) from None
        if k == 'id':
            self.i += 1
            if t[1] == '.':
                return ('dot',)
            return ('sym', t[1])
        if k in ('-', '~', '!', '+'):
            self.i += 1
            inner = self._primary()
            if inner[0] == 'num':
                return ('num', apply_unop(k, inner[1]))
            return ('un', k, inner)
        if k == '(':
            self.i += 1
            node = self._binary(1)
            self.expect(')', "expected ')' in parentheses expression")
            return node
        if k == 'real':
            # inside an expression a floating-point number stands for its IEEE double bits
            self.i += 1
            try:
                bits = struct.unpack('<q', struct.pack('<d', float(t[1])))[0]
            except ValueError:
                raise AsmError("invalid floating point literal", 0, t[2] + 1) from None
            return ('num', bits)
        if k == 'end':
            raise AsmError("unknown token in expression", 0, t[2] + 1)
        raise AsmError("unknown token in expression", 0, t[2] + 1)
