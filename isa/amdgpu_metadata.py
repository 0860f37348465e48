"""The `.amdgpu_metadata ... .end_amdgpu_metadata` block of LLVM assembly: YAML text that becomes
the code object's MessagePack metadata map.

Scalars are typed the way llvm-mc types them. Untagged scalars (quoted or not, and `!!str`
ones) become an integer if LLVM's integer syntax reads them (decimal, 0x, 0b, 0o, leading-0 octal,
optional '-'), else a boolean (y/n, yes/no, on/off, true/false in lower, Capital or UPPER case),
else nil if strtod reads a number or the text is empty (llvm-mc writes no value for floating
point), else a string.
The tags `!int`, `!bool`, `!float`, `!nil` and `!str` force a type; other tags give a string.
An empty plain value is an empty list. The result is checked against the metadata schema.
"""

import re
from collections.abc import Sequence

import yaml

from isa.codeobj.metadata import verify_metadata
from isa.errors import CodeObjectError, DirectiveError

_BLOCK_START = ".amdgpu_metadata"
_BLOCK_END = ".end_amdgpu_metadata"

_INTEGER = re.compile(r"-?(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[bB](?P<bin>[01]+)|0o(?P<oct>[0-7]+)|0(?P<oct0>[0-7]+)"
                      r"|(?P<dec>[1-9][0-9]*|0))")
_TRUE = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"}
_FALSE = {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"}
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?i:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))")


_NO_VALUE = object()


def _integer(text: str):
    m = _INTEGER.fullmatch(text)
    if m:
        digits, base = next((m[g], b) for g, b in (("hex", 16), ("bin", 2), ("oct", 8), ("oct0", 8), ("dec", 10))
                            if m[g] is not None)
        value = int(digits, base)
        if text.startswith("-"):
            if value <= 1 << 63:
                return -value
        elif value < 1 << 64:
            return value
    return _NO_VALUE


def _boolean(text: str):
    return True if text in _TRUE else False if text in _FALSE else _NO_VALUE


def scalar_value(text: str, tag: str = ""):
    """The MessagePack value llvm-mc gives a YAML scalar with `tag` ('' when untagged); ValueError
    when the tag forces a type the text does not have."""
    if tag == "tag:yaml.org,2002:str":
        tag = ""
    if tag in ("", "!int"):
        value = _integer(text)
        if value is not _NO_VALUE:
            return value
        if tag:
            raise ValueError("invalid number")
    if tag == "!nil":
        return None
    if tag in ("", "!bool"):
        value = _boolean(text)
        if value is not _NO_VALUE:
            return value
        if tag:
            raise ValueError("invalid boolean")
    if tag in ("", "!float"):
        if text == "" or _FLOAT.fullmatch(text):  # llvm-mc reads an empty quoted scalar as a number
            return None
        if tag:
            raise ValueError("invalid floating point number")
    return text


class _Loader(yaml.SafeLoader):
    """Composes nodes without PyYAML's implicit typing: untagged scalars keep the tag ''."""

    def resolve(self, kind, value, implicit):
        return ""


# `key: - item` (or `key: !tag - item`): llvm-mc's YAML reader takes a block sequence that starts
# on its key's line (YAML wants it on the next). Keys here are plain: no quotes, brackets or '#'.
_COMPACT_SEQUENCE = re.compile(r"(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<key>[^\s\-'\"\[{#][^'\"\[{#:]*?):"
                               r"[ \t]+(?:(?P<tag>![^\s]*)[ \t]+)?(?P<seq>-(?:[ \t].*)?)")


def _split_compact_sequences(body: str) -> tuple[str, list[tuple[int, int]]]:
    """The text with each `key: - item` line split into `key:` and an indented `- item` line, and
    for every line of it (its source line, its column shift) to report errors where they are."""
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    for number, line in enumerate(body.split("\n")):
        shift = 0
        while (m := _COMPACT_SEQUENCE.fullmatch(line)) is not None:
            out.append(line[:m.end("key") + 1] + (f" {m['tag']}" if m["tag"] else ""))
            origin.append((number, shift))
            indent = len(m["lead"]) + 2
            shift += indent - m.start("seq")
            line = " " * indent + m["seq"]
        out.append(line)
        origin.append((number, shift))
    return "\n".join(out), origin


class _Converter:
    def __init__(self, first_line: int, origin: list[tuple[int, int]]):
        self.first_line = first_line
        self.origin = origin

    def position(self, mark) -> tuple[int, int]:
        """(line, column) in the source of a mark in the parsed text."""
        if mark is None:
            return self.first_line + 1, 1
        line, shift = self.origin[min(mark.line, len(self.origin) - 1)]
        return self.first_line + 1 + line, max(1, mark.column + 1 - shift)

    def fail(self, message: str, node) -> DirectiveError:
        return DirectiveError(message, *self.position(node.start_mark))

    def convert(self, node):
        if isinstance(node, yaml.ScalarNode):
            tag = "" if node.tag in ("", "!") else node.tag
            if not tag and node.style is None and node.value == "":
                return []
            try:
                return scalar_value(node.value, tag)
            except ValueError as exc:
                raise self.fail(str(exc), node) from None
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = self.convert(key_node)
                if isinstance(key, (list, dict)):
                    raise self.fail("a metadata map key must be a scalar", key_node)
                if key in out:
                    raise self.fail(f"duplicated mapping key {key_node.value!r}", key_node)
                out[key] = self.convert(value_node)
            return out
        raise self.fail("unknown node kind", node)


def _compose(body: str, first_line: int):
    seen = set()

    def no_aliases(node, converter):
        # llvm-mc's YAML reader refuses aliases; a shared node shows up twice here.
        if id(node) in seen and isinstance(node, (yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode)):
            raise converter.fail("aliases are not supported in metadata", node)
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                no_aliases(item, converter)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                no_aliases(k, converter)
                no_aliases(v, converter)

    text, origin = _split_compact_sequences(body)
    converter = _Converter(first_line, origin)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        line, column = converter.position(exc.problem_mark or exc.context_mark)
        raise DirectiveError(f"invalid YAML in metadata: {exc.problem or exc}", line, column) from None
    except yaml.YAMLError as exc:
        raise DirectiveError(f"invalid YAML in metadata: {exc}", first_line, 1) from None
    nodes = [n for n in nodes if n is not None]
    if len(nodes) != 1:
        raise DirectiveError(f"metadata must hold one YAML document, found {len(nodes)}", first_line, 1)
    no_aliases(nodes[0], converter)
    return converter.convert(nodes[0])


def parse_amdgpu_metadata(source: str | Sequence[str], first_line: int = 1) -> dict:
    """The metadata map of one block. `source` runs from the `.amdgpu_metadata` line to the
    `.end_amdgpu_metadata` line; `first_line` is the line number of the first one."""
    lines = source.splitlines() if isinstance(source, str) else list(source)
    if not lines or lines[0].strip() != _BLOCK_START:
        raise DirectiveError(f"expected {_BLOCK_START} on the first line", first_line, 1)
    end = next((i for i, line in enumerate(lines) if line.strip() == _BLOCK_END), None)
    if end is None:
        raise DirectiveError(f"missing {_BLOCK_END}", first_line + len(lines) - 1, 1)
    if any(line.strip() for line in lines[end + 1:]):
        raise DirectiveError(f"text after {_BLOCK_END}", first_line + end + 1, 1)
    metadata = _compose("\n".join(lines[1:end]), first_line)
    end_column = lines[end].find(_BLOCK_END) + len(_BLOCK_END) + 1
    try:
        verify_metadata(metadata)
    except CodeObjectError as exc:
        raise DirectiveError(f"invalid HSA metadata: {exc}", first_line + end, end_column) from None
    return metadata
