"""Mnemonic aliases LLVM's assembler accepts for gfx11: earlier names of renamed instructions."""

ALIASES: dict[str, str] = {}
