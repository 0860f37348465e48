"""The committed instruction table is what tools/gen_isa_tables.py makes of the shared RDNA3
description, and the decoder's format identification agrees with the table's fixed bits."""

import importlib.util
import json
from pathlib import Path

import pytest

from isa import tables

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "isa" / "rdna3.json"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_isa_tables", ROOT / "tools" / "gen_isa_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SOURCE.exists(), reason=f"the shared ISA description {SOURCE} is not beside the checkout")
def test_committed_table_is_generated_from_the_shared_description():
    committed = (ROOT / "isa" / "data" / "rdna3.json").read_text()
    assert committed == _generator().render(SOURCE), "run tools/gen_isa_tables.py and commit isa/data/rdna3.json"


def test_every_opcode_of_the_source_is_in_the_table():
    raw = json.loads((ROOT / "isa" / "data" / "rdna3.json").read_text())
    t = tables.table()
    assert sum(len(ops) for ops in t.spaces.values()) == len(raw["ops"])
    for op in raw["ops"]:
        info = t.spaces[op["space"]][op["opcode"]]
        assert info.amd_name == op["amd"] and info.mnemonic == op["mnemonic"]
        assert t.by_mnemonic[info.mnemonic][info.space] is info


@pytest.mark.parametrize("name", tables.BASE_FORMATS)
def test_a_word_with_only_the_fixed_bits_identifies_its_format(name):
    fmt = tables.table().formats[name]
    found = tables.identify(fmt.base_word() & 0xFFFFFFFF)
    assert found == name or (name == "FLAT" and found in ("FLAT", "GLOBAL", "SCRATCH"))


def test_flat_segments_identify_global_and_scratch():
    t = tables.table()
    for name in ("GLOBAL", "SCRATCH"):
        assert tables.identify(t.formats[name].base_word() & 0xFFFFFFFF) == name
