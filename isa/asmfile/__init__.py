"""The whole-file assembler: an assembly file with `.amdhsa_kernel` blocks in, an HSA code object
(code object v5, ELF) out.

    co = isa.assemble_code_object(open("kernel.s").read())

It reads what `clang -S` writes for gfx11 (sections, data, alignment, symbol attributes,
`.amdhsa_kernel` descriptors, the `.amdgpu_metadata` YAML) as well as hand-written files, and
gives what `llvm-mc -filetype=obj` followed by `ld.lld -shared` gives: the same code bytes,
descriptors and metadata at the same addresses. A file without an `.amdgpu_metadata` block gets
metadata built from its descriptors. Errors are `isa.AsmError` (statements) or
`isa.DirectiveError` (`.amdhsa_*`, metadata, target), each with the line and column.
"""

from isa.asmfile.link import link_object
from isa.asmfile.objfile import ObjectFile
from isa.asmfile.reader import read_source
from isa.codeobj import assembler_kernel_metadata
from isa.codeobj.metadata import METADATA_VERSION_V5, KernelMetadata
from isa.codeobj.targets import Target, parse_target
from isa.errors import AsmError, CodeObjectError, DirectiveError

__all__ = ['assemble_code_object']

_SUPPORTED_VERSIONS = (5, 6)


def assemble_code_object(source: str, target: str = 'gfx1100') -> bytes:
    """Assemble a whole gfx11 assembly file into a linked HSA code object."""
    if not isinstance(source, str):
        raise AsmError(f"assembly source must be text (str), got {type(source).__name__}")
    try:
        tgt = parse_target(target)
    except CodeObjectError as e:
        raise DirectiveError(str(e)) from None
    obj = read_source(source)
    version = _code_object_version(obj, tgt)
    metadata = _metadata(obj, tgt)
    try:
        return link_object(obj, tgt, version, metadata)
    except DirectiveError:
        raise
    except CodeObjectError as e:
        raise DirectiveError(f"invalid code object: {e}", obj.metadata_line or 1, 1) from None


def _code_object_version(obj: ObjectFile, tgt: Target) -> int:
    if obj.target_id is not None and obj.target_id != tgt.target_id:
        line, col = obj.target_at
        raise DirectiveError(f".amdgcn_target {obj.target_id!r} does not match the target {tgt.target_id!r}",
                             line, col)
    version = obj.code_object_version
    if version is None:
        return 6 if tgt.generic_version else 5
    line, col = obj.version_at
    if version not in _SUPPORTED_VERSIONS:
        raise DirectiveError(f"code object version {version} is not supported (5 or 6)", line, col)
    if tgt.generic_version and version < 6:
        raise DirectiveError(f"generic target {tgt.processor} needs code object version 6", line, col)
    return version


def _metadata(obj: ObjectFile, tgt: Target) -> dict:
    names = [k.kernel.name for k in obj.kernels]
    if obj.metadata is None:
        return {
            'amdhsa.version': list(METADATA_VERSION_V5),
            'amdhsa.target': tgt.target_id,
            'amdhsa.kernels': [assembler_kernel_metadata(k.kernel) for k in obj.kernels],
        }
    meta = obj.metadata
    line = obj.metadata_line
    if meta.get('amdhsa.target', tgt.target_id) != tgt.target_id:
        raise DirectiveError(f"metadata amdhsa.target {meta['amdhsa.target']!r} does not match the target "
                             f"{tgt.target_id!r}", line, 1)
    for entry in meta.get('amdhsa.kernels', []):
        name = entry.get('.name')
        if name not in names:
            raise DirectiveError(f"metadata describes kernel {name!r}, which has no .amdhsa_kernel block", line, 1)
        if entry.get('.symbol') != f'{name}.kd':
            raise DirectiveError(f"metadata kernel {name!r}: .symbol must be '{name}.kd'", line, 1)
        misplaced = KernelMetadata.from_map(entry).misplaced_argument()
        if misplaced:     # a loader would refuse the code object
            raise DirectiveError(f"metadata kernel {name!r}: {misplaced}", line, 1)
    return meta
