"""Where the core finds the ALU semantics: the VALU / SALU / WMMA tables of isa.emu.valu and
isa.emu.salu (see the contract in isa/emu/__init__.py). A dispatch may be given other tables
(for instance a test's own); the default loads those modules on first use."""

from dataclasses import dataclass, field
from functools import cache

from isa.emu.errors import IllegalInstruction


@dataclass(frozen=True)
class AluTables:
    valu: dict
    salu: dict
    vopd_aliases: dict = field(default_factory=dict)
    wmma: dict = field(default_factory=dict)

    def vector(self, mnemonic: str):
        op = self.valu.get(mnemonic)
        if op is None and mnemonic.startswith("v_dual_"):
            op = self.valu.get(self.vopd_aliases.get(mnemonic, "v_" + mnemonic[len("v_dual_"):]))
        if op is None:
            raise IllegalInstruction(f"no semantics for {mnemonic}")
        return op

    def scalar(self, mnemonic: str):
        op = self.salu.get(mnemonic)
        if op is None:
            raise IllegalInstruction(f"no semantics for {mnemonic}")
        return op

    def matrix(self, mnemonic: str):
        fn = self.wmma.get(mnemonic)
        if fn is None:
            raise IllegalInstruction(f"no semantics for {mnemonic}")
        return fn


@cache
def default_tables() -> AluTables:
    from isa.emu import salu, valu
    return AluTables(valu.VALU, salu.SALU, dict(getattr(valu, "VOPD_ALIASES", {})), dict(getattr(valu, "WMMA", {})))


def attr(op, name: str, default=None):
    """A ValuOp / SaluOp attribute with the contract's default when a table leaves it out."""
    return getattr(op, name, default)
