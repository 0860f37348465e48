"""ELF tables of a linked code object, built as ld.lld builds them: string tables, the note,
and the SysV and GNU symbol hash tables."""

from isa.codeobj import elf
from isa.codeobj.elf import align_up


def gnu_hash(name: bytes) -> int:
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


class StringTable:
    """An ELF string table under construction."""

    def __init__(self):
        self.data = bytearray(b'\0')
        self.index: dict[str, int] = {'': 0}

    def add(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.data)
            self.data += text.encode('utf-8') + b'\0'
        return self.index[text]


def next_power_of_two(n: int) -> int:
    """The smallest power of two greater than n (1 for 0), as LLVM's NextPowerOf2 gives."""
    return 1 << n.bit_length()


def note_section(name: str, n_type: int, desc: bytes) -> bytes:
    raw = name.encode() + b'\0'
    return elf.NHDR.pack(len(raw), len(desc), n_type) + raw.ljust(align_up(len(raw), 4), b'\0') + \
        desc.ljust(align_up(len(desc), 4), b'\0')


def sysv_hash(names: list[str]) -> bytes:
    """DT_HASH with one bucket per symbol, as ld.lld sizes it."""
    n = len(names)
    buckets = [0] * n
    chains = [0] * n
    for i in range(1, n):
        b = elf.elf_hash(names[i].encode()) % n
        chains[i] = buckets[b]
        buckets[b] = i
    return b''.join(w.to_bytes(4, 'little') for w in [n, n, *buckets, *chains])


def gnu_hash_table(dynsyms: list[str], undefined: int, nbuckets: int, mask_words: int) -> bytes:
    """DT_GNU_HASH over the defined dynamic symbols (which follow the undefined ones, grouped by bucket)."""
    shift2 = 26
    hashed = dynsyms[undefined:]
    hashes = [gnu_hash(n.encode()) for n in hashed]
    bloom = [0] * mask_words
    for h in hashes:
        bloom[(h // 64) % mask_words] |= (1 << (h % 64)) | (1 << ((h >> shift2) % 64))
    buckets = [0] * nbuckets
    chain = []
    symndx = undefined + 1
    for i, h in enumerate(hashes):
        b = h % nbuckets
        if not buckets[b]:
            buckets[b] = symndx + i
        last = i + 1 == len(hashes) or hashes[i + 1] % nbuckets != b
        chain.append((h & ~1) | int(last))
    out = bytearray()
    out += b''.join(w.to_bytes(4, 'little') for w in (nbuckets, symndx, mask_words, shift2))
    out += b''.join(w.to_bytes(8, 'little') for w in bloom)
    out += b''.join(w.to_bytes(4, 'little') for w in buckets + chain)
    return bytes(out)
