"""Values of symbolic expressions once the code object is laid out, and the relocations they need.

An expression is evaluated as a linear form over the unknowns a loader supplies: the image base
(every address inside the code object moves with it) and the address of each symbol another
module may define (preemptible or undefined symbols). A constant form is written into the bytes;
a form of one unknown with coefficient 1 becomes a dynamic relocation; anything else is an error.

Operand suffixes follow LLVM: `sym@rel32@lo`/`@rel32@hi`/`@rel32`/`@rel64` are `sym - P` with P
the address of the patched field; `sym@gotpcrel32@lo`/`@gotpcrel32@hi`/`@gotpcrel` are the same
for the address of sym's GOT slot; `@abs32@lo`/`@abs32@hi`/`@abs64` are sym's address.
"""

from collections.abc import Callable, Mapping

from isa.errors import AsmError

_PROBE = 1 << 36
_MASK64 = (1 << 64) - 1

# suffix -> (what the symbol stands for, which 32-bit half is kept: 'lo', 'hi' or None for all)
VARIANTS = {
    'rel32@lo': ('pcrel', 'lo'), 'rel32@hi': ('pcrel', 'hi'), 'rel32': ('pcrel', 'lo'), 'rel64': ('pcrel', None),
    'gotpcrel32@lo': ('got', 'lo'), 'gotpcrel32@hi': ('got', 'hi'), 'gotpcrel': ('got', 'lo'),
    'abs32@lo': ('abs', 'lo'), 'abs32@hi': ('abs', 'hi'), 'abs64': ('abs', None),
}


def split_variant(name: str) -> tuple[str, str | None]:
    """('sym', 'rel32@lo') for 'sym@rel32@lo'; (name, None) without a suffix."""
    if '@' not in name:
        return name, None
    base, variant = name.split('@', 1)
    return base, variant.lower()


def _wrap(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


class LinearValue:
    """constant + sum(coefficient * unknown); unknowns are 'base' or a symbol name."""

    __slots__ = ('constant', 'terms', 'half')

    def __init__(self, constant: int, terms: dict[str, int], half: str | None):
        self.constant = constant
        self.terms = terms
        self.half = half


class Evaluator:
    """Evaluates fixup expressions against the final layout.

    `address(name)` gives the image address of a symbol defined in the code object (None if it
    is not one); `absolute(name)` the value of an absolute symbol (None if not one);
    `preemptible(name)` tells whether the loader may bind the name elsewhere; `got(name)` gives
    the image address of a GOT slot."""

    def __init__(self, address: Callable, absolute: Callable, preemptible: Callable, got: Mapping[str, int]):
        self.address = address
        self.absolute = absolute
        self.preemptible = preemptible
        self.got = got

    def linear(self, expr, field: int, line: int, column: int, source: str, operand: bool = False) -> LinearValue:
        """The value of `expr` stored at image address `field`. An instruction `operand` naming
        a symbol is PC-relative (the field's address is subtracted) unless its outermost
        operation is a subtraction, as LLVM encodes such operands."""
        if not hasattr(expr, 'symbols'):
            return LinearValue(expr, {}, None)
        variants = []
        unknowns = ['base']
        for name in expr.symbols():
            base, variant = split_variant(name)
            if variant is not None:
                if variant not in VARIANTS:
                    raise AsmError(f"unknown relocation specifier '@{variant}'", line, column, source)
                variants.append((name, base, variant))
            elif self.absolute(name) is None and self.address(name) is None:
                if not self.preemptible(name):
                    raise AsmError(f"undefined symbol '{name}'", line, column, source)
            if variant is None and self.preemptible(name) and name not in unknowns:
                unknowns.append(name)
        if len({v[0] for v in variants}) > 1:
            raise AsmError("an expression may name only one relocated symbol", line, column, source)
        half = None
        pcrel = operand and not variants and needs_pcrel(expr.node)
        if variants:
            name, base, variant = variants[0]
            kind, half = VARIANTS[variant]
            if kind == 'abs':
                if self.preemptible(base) and base not in unknowns:
                    unknowns.append(base)
            elif kind == 'pcrel' and self.preemptible(base):
                raise AsmError(f"'{base}' may be defined by another module, so a PC-relative reference "
                               f"cannot reach it; use @gotpcrel32", line, column, source)
            elif kind == 'pcrel' and self.address(base) is None:
                raise AsmError(f"undefined symbol '{base}'", line, column, source)

        def evaluate(values: dict[str, int]) -> int:
            shift = values.get('base', 0)

            def lookup(name):
                base, variant = split_variant(name)
                if variant is not None:
                    kind, _ = VARIANTS[variant]
                    if kind == 'pcrel':
                        return self.address(base) - field
                    if kind == 'got':
                        return self.got[base] - field
                    name = base
                if name in values:
                    return values[name]
                value = self.absolute(name)
                if value is not None:
                    return value
                if self.preemptible(name):
                    return 0
                return self.address(name) + shift
            value = expr.evaluate(lookup, field + shift)
            return value - (field + shift) if pcrel else value

        try:
            zero = evaluate({})
            terms = {}
            for u in unknowns:
                diff = _wrap(evaluate({u: _PROBE}) - zero)
                if diff:
                    if diff % _PROBE:
                        raise AsmError("expression is not a constant plus one address", line, column, source)
                    terms[u] = diff // _PROBE
        except AsmError as e:
            if e.line:
                raise
            raise AsmError(e.message, line, column, source) from None
        return LinearValue(zero, terms, half)


def needs_pcrel(node) -> bool:
    """Whether an operand expression is PC-relative: it names a symbol (not through @abs32)
    and its outermost operation is not a subtraction."""
    kind = node[0]
    if kind == 'sym':
        return split_variant(node[1])[1] not in ('abs32@lo', 'abs32@hi', 'abs64')
    if kind == 'dot':
        return True
    if kind == 'un':
        return needs_pcrel(node[2])
    if kind == 'bin':
        return node[1] != '-' and (needs_pcrel(node[2]) or needs_pcrel(node[3]))
    return False


def constant_bytes(value: LinearValue, size: int, line: int, column: int, source: str) -> bytes:
    """The bytes of a value that needs no relocation, with its half selected and range checked."""
    v = value.constant
    if value.half == 'lo':
        v &= 0xFFFFFFFF
    elif value.half == 'hi':
        v = (v >> 32) & 0xFFFFFFFF
    if not -(1 << (8 * size - 1)) <= v < (1 << (8 * size)):
        raise AsmError(f"value out of range for a fixup of {size} bytes", line, column, source)
    return (v & ((1 << (8 * size)) - 1)).to_bytes(size, 'little')
