"""HSA code objects (ELF, code object v5) for gfx11: kernel descriptors, metadata, reading,
writing and laying out an image for loading."""

from isa.codeobj.build import (
    KernelArg,
    KernelSpec,
    assembler_kernel_metadata,
    build_code_object,
    layout_kernargs,
)
from isa.codeobj.descriptor import FIELDS, KernelDescriptor
from isa.codeobj.directives import AmdhsaKernel, build_kernel
from isa.codeobj.elfview import Section, Segment, Symbol
from isa.codeobj.image import Relocation
from isa.codeobj.metadata import KernelArgument, KernelMetadata, verify_metadata
from isa.codeobj.reader import CodeObject, Kernel
from isa.codeobj.targets import Target, parse_target
from isa.codeobj.writer import LinkedKernel, encode_metadata, link_code_object

__all__ = [
    "FIELDS", "AmdhsaKernel", "CodeObject", "Kernel", "KernelArg", "KernelArgument", "KernelDescriptor",
    "KernelMetadata", "KernelSpec", "LinkedKernel", "Relocation", "Section", "Segment", "Symbol", "Target",
    "assembler_kernel_metadata", "build_code_object", "build_kernel", "encode_metadata", "layout_kernargs", "link_code_object",
    "parse_target", "verify_metadata",
]
