"""Source text helpers of the whole-file assembler: string literals."""

import re

from isa.errors import AsmError


def unquote(text: str, lineno: int, col: int, raw: str) -> bytes:
    """The bytes of a string token (C escapes, octal and hex included)."""
    body = text[1:-1]
    out = bytearray()
    k = 0
    simple = {'n': 10, 't': 9, 'r': 13, 'b': 8, 'f': 12, 'v': 11, 'a': 7, '\\': 92, '"': 34, "'": 39}
    while k < len(body):
        c = body[k]
        if c != '\\':
            out += c.encode('utf-8')
            k += 1
            continue
        k += 1
        if k >= len(body):
            raise AsmError("invalid escape sequence", lineno, col, raw)
        e = body[k]
        if e in simple:
            out.append(simple[e])
            k += 1
        elif e in '01234567':
            m = re.match(r'[0-7]{1,3}', body[k:])
            out.append(int(m.group(), 8) & 0xFF)
            k += m.end()
        elif e in 'xX':
            m = re.match(r'[0-9A-Fa-f]+', body[k + 1:])
            if m is None:
                raise AsmError("invalid hexadecimal escape sequence", lineno, col, raw)
            out.append(int(m.group(), 16) & 0xFF)
            k += 1 + m.end()
        else:
            raise AsmError("invalid escape sequence (unrecognized character)", lineno, col, raw)
    return bytes(out)
