"""gfx11 processors: their e_flags machine numbers and target-id strings."""

from dataclasses import dataclass

from isa.codeobj import elf
from isa.errors import CodeObjectError

# EF_AMDGPU_MACH values of the gfx11 family (AMDGPUUsage; checked against llvm-mc-19).
GFX11_MACH = {
    "gfx1100": 0x041,
    "gfx1101": 0x046,
    "gfx1102": 0x047,
    "gfx1103": 0x044,
    "gfx1150": 0x043,
    "gfx1151": 0x04A,
    "gfx1152": 0x055,
    "gfx11-generic": 0x054,
}
MACH_TO_NAME = {mach: name for name, mach in GFX11_MACH.items()}
# Generic targets exist only from code object v6 on.
GENERIC_TARGETS = {"gfx11-generic"}

TARGET_TRIPLE = "amdgcn-amd-amdhsa"

# The two-bit feature fields of e_flags: 0 = not supported by the processor, 1 = any, 2 = off, 3 = on.
_FEATURE_SETTING = {0: None, 1: "any", 2: "off", 3: "on"}


@dataclass(frozen=True)
class Target:
    """A processor with its xnack/sramecc settings (None: the processor lacks the feature)."""

    processor: str
    xnack: str | None = None
    sramecc: str | None = None
    generic_version: int = 0

    @property
    def target_id(self) -> str:
        """The `amdhsa.target` string, e.g. 'amdgcn-amd-amdhsa--gfx1100'."""
        features = ""
        if self.sramecc in ("on", "off"):
            features += ":sramecc" + ("+" if self.sramecc == "on" else "-")
        if self.xnack in ("on", "off"):
            features += ":xnack" + ("+" if self.xnack == "on" else "-")
        return f"{TARGET_TRIPLE}--{self.processor}{features}"

    @property
    def mach(self) -> int:
        return GFX11_MACH[self.processor]

    def e_flags(self) -> int:
        return self.mach | (self.generic_version << elf.EF_AMDGPU_GENERIC_VERSION_SHIFT)


def target_from_e_flags(e_flags: int) -> Target:
    mach = e_flags & elf.EF_AMDGPU_MACH
    name = MACH_TO_NAME.get(mach)
    if name is None:
        raise CodeObjectError(
            f"e_flags machine 0x{mach:03x} is not a gfx11 processor "
            f"(supported: {', '.join(sorted(GFX11_MACH))})"
        )
    xnack = _FEATURE_SETTING[(e_flags & elf.EF_AMDGPU_FEATURE_XNACK) >> 8]
    sramecc = _FEATURE_SETTING[(e_flags & elf.EF_AMDGPU_FEATURE_SRAMECC) >> 10]
    generic_version = (e_flags & elf.EF_AMDGPU_GENERIC_VERSION) >> elf.EF_AMDGPU_GENERIC_VERSION_SHIFT
    return Target(name, xnack, sramecc, generic_version)


def parse_target(target: str) -> Target:
    """Accept 'gfx1100' or a full target id 'amdgcn-amd-amdhsa--gfx1100[:xnack-]'."""
    if not isinstance(target, str):
        raise CodeObjectError(f"target must be a string such as 'gfx1100', got {target!r}")
    text = target
    prefix = TARGET_TRIPLE + "--"
    if text.startswith(prefix):
        text = text[len(prefix):]
    processor, *features = text.split(":")
    if processor not in GFX11_MACH:
        raise CodeObjectError(
            f"unsupported target {target!r}: expected one of {', '.join(sorted(GFX11_MACH))}"
        )
    settings: dict[str, str] = {}
    for feature in features:
        name, sign = feature[:-1], feature[-1:]
        if name not in ("xnack", "sramecc") or sign not in "+-" or not sign or name in settings:
            raise CodeObjectError(f"bad target feature {feature!r} in {target!r}")
        settings[name] = "on" if sign == "+" else "off"
    if settings:
        # No gfx11 processor implements xnack or sramecc, so a setting for either is wrong.
        raise CodeObjectError(f"{processor} supports neither xnack nor sramecc: {target!r}")
    generic_version = 1 if processor in GENERIC_TARGETS else 0
    return Target(processor, generic_version=generic_version)
