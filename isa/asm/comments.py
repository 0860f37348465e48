"""Comments in assembly source: `;` and `//` to the end of the line, `/* ... */` anywhere."""

from isa.errors import AsmError


def blank_block_comments(text: str) -> str:
    """`/* ... */` comments replaced by spaces, keeping line breaks so lines and columns hold."""
    if '/*' not in text:
        return text
    out = []
    pos = 0
    while True:
        i = text.find('/*', pos)
        if i < 0:
            out.append(text[pos:])
            return ''.join(out)
        start = text.rfind('\n', 0, i) + 1
        prefix = text[start:i]
        if strip_comment(prefix) != prefix or prefix.count('"') % 2:
            out.append(text[pos:i + 2])  # inside a line comment or a string
            pos = i + 2
            continue
        j = text.find('*/', i + 2)
        if j < 0:
            end = text.find('\n', i)
            raise AsmError("unterminated comment", text.count('\n', 0, i) + 1, i - start + 1,
                           text[start:end if end >= 0 else len(text)])
        out.append(text[pos:i])
        out.append(''.join('\n' if c == '\n' else ' ' for c in text[i:j + 2]))
        pos = j + 2


def strip_comment(line: str) -> str:
    """The line without its ';' or '//' comment (strings respected)."""
    if '"' not in line:
        cut = [k for k in (line.find(';'), line.find('//')) if k >= 0]
        return line[:min(cut)] if cut else line
    quote = False
    k = 0
    while k < len(line):
        c = line[k]
        if quote and c == '\\':
            k += 2
            continue
        if c == '"':
            quote = not quote
        elif not quote and (c == ';' or line.startswith('//', k)):
            return line[:k]
        k += 1
    return line
