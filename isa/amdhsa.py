"""The `.amdhsa_kernel NAME ... .end_amdhsa_kernel` block of LLVM assembly, for gfx11.

    kernel = parse_amdhsa_kernel(block_lines, first_line=12)
    kernel.descriptor.to_bytes()     # the 64-byte descriptor (code entry offset still 0)

Errors are isa.errors.DirectiveError with the source line and column.
"""

import re
from collections.abc import Mapping, Sequence

from isa.codeobj.directives import DirectiveValueError, build_kernel, check_directive
from isa.directive_expr import evaluate
from isa.errors import DirectiveError

_BLOCK_START = re.compile(r"\.amdhsa_kernel\s+(?P<name>[A-Za-z_.$][A-Za-z0-9_.$]*)\s*$")
_DIRECTIVE = re.compile(r"\.amdhsa_(?P<name>[A-Za-z0-9_]+)(?=\s|$)")
_BLOCK_END = ".end_amdhsa_kernel"


def strip_comment(line: str) -> str:
    """The line without `//`, `;` or single-line `/* */` comments (quotes respected)."""
    out = []
    i = 0
    quote = None
    while i < len(line):
        c = line[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(line):
                out.append(line[i + 1])
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            out.append(c)
        elif c == ";" or line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            end = line.find("*/", i + 2)
            if end < 0:
                break
            out.append(" " * (end + 2 - i))  # keep columns of what follows
            i = end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def parse_amdhsa_kernel(source: str | Sequence[str], first_line: int = 1,
                        symbols: Mapping[str, int] | None = None):
    """Build the AmdhsaKernel of one block. `source` holds the block from its `.amdhsa_kernel`
    line to its `.end_amdhsa_kernel` line; `first_line` is the line number of the first one;
    `symbols` gives values of names used in expressions."""
    lines = source.splitlines() if isinstance(source, str) else list(source)
    numbered = [(first_line + i, raw, strip_comment(raw)) for i, raw in enumerate(lines)]
    numbered = [(n, raw, text) for n, raw, text in numbered if text.strip()]
    if not numbered:
        raise DirectiveError("empty .amdhsa_kernel block", first_line, 1)
    line_no, raw, text = numbered[0]
    start = _BLOCK_START.match(text.strip())
    if start is None:
        raise DirectiveError("expected '.amdhsa_kernel NAME'", line_no, _column(raw, text.strip()))
    name = start["name"]
    end_line = None
    values: dict[str, int] = {}
    seen_at: dict[str, tuple[int, int]] = {}
    for line_no, raw, text in numbered[1:]:
        stripped = text.strip()
        column = _column(raw, stripped)
        if end_line is not None:
            raise DirectiveError("text after .end_amdhsa_kernel", line_no, column)
        if stripped == _BLOCK_END:
            end_line = (line_no, column + len(_BLOCK_END))
            continue
        m = _DIRECTIVE.match(stripped)
        if m is None:
            raise DirectiveError("expected .amdhsa_ directive or .end_amdhsa_kernel", line_no, column)
        directive = m["name"]
        expr = stripped[m.end():]
        value_column = column + m.end() + (len(expr) - len(expr.lstrip()))
        try:
            check_directive(directive, 0)
        except DirectiveValueError as exc:
            raise DirectiveError(str(exc), line_no, column) from None
        if directive in values:
            raise DirectiveError(f".amdhsa_ directives cannot be repeated (.amdhsa_{directive})",
                                 line_no, value_column)
        try:
            value = evaluate(expr.strip(), symbols)
        except DirectiveError as exc:
            raise DirectiveError(exc.message, line_no, value_column + exc.column - 1) from None
        try:
            check_directive(directive, value)
        except DirectiveValueError as exc:
            raise DirectiveError(str(exc), line_no, value_column if exc.at_value else column) from None
        values[directive] = value
        seen_at[directive] = (line_no, value_column)
    if end_line is None:
        raise DirectiveError(f"missing {_BLOCK_END} for kernel {name!r}", numbered[-1][0], 1)
    try:
        return build_kernel(name, values)
    except DirectiveValueError as exc:
        line_no, column = seen_at.get(exc.directive, end_line)
        raise DirectiveError(str(exc), line_no, column) from None


def _column(raw: str, stripped: str) -> int:
    return raw.find(stripped) + 1 if stripped else 1
