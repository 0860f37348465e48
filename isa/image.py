"""Image (MIMG) instruction facts the assembler and the disassembler share: dimensions, how many
address VGPRs an instruction reads, and which address forms (one range, NSA lists) LLVM has."""

# Image dimensions: name -> (code, coordinates, gradients).
IMAGE_DIMS = {'1D': (0, 1, 2), '2D': (1, 2, 4), '3D': (2, 3, 6), 'CUBE': (3, 3, 4), '1D_ARRAY': (4, 2, 2),
              '2D_ARRAY': (5, 3, 4), '2D_MSAA': (6, 3, 4), '2D_MSAA_ARRAY': (7, 4, 4)}
IMAGE_DIM_NAMES = {code: name for name, (code, _, _) in IMAGE_DIMS.items()}
NSA_SLOTS = 5           # addresses an image instruction can name one by one (the last may be a range)


class ImageInfo:
    """What an image instruction reads: extra arguments (offset, bias, compare), coordinates,
    a lod/clamp/mip value, derivatives (16-bit with g16), and its kind."""
    __slots__ = ('extra', 'coords', 'lod', 'grads', 'g16', 'gather', 'msaa', 'atomic', 'cmpswap', 'store',
                 'bvh', 'bvh64', 'd16', 'sampler', 'words')

    def __init__(self, m: str):
        name = m[len('image_'):]
        self.bvh = name.startswith('bvh')
        self.bvh64 = name.startswith('bvh64')
        self.atomic = name.startswith('atomic_')
        self.cmpswap = name == 'atomic_cmpswap'
        self.store = name.startswith('store')
        self.gather = name.startswith('gather4')
        self.msaa = name == 'msaa_load'
        self.extra = 0
        self.coords = True
        self.lod = False
        self.grads = False
        self.g16 = False
        if name.startswith(('sample', 'gather4')):
            parts = name.split('_')[1:]
            self.extra = sum(1 for x in parts if x in ('c', 'o', 'b'))
            self.lod = 'l' in parts or 'cl' in parts
            self.grads = 'd' in parts
            self.g16 = 'g16' in parts
        elif name == 'get_resinfo':
            self.coords = False
            self.lod = True
        else:
            self.lod = '_mip' in name
        self.d16 = not (self.atomic or self.bvh or 'pck' in name or name in ('get_resinfo', 'get_lod'))
        self.sampler = name.startswith(('sample', 'gather4')) or name == 'get_lod'
        # LLVM's forms of a sampling instruction cover the address counts from the least to
        # the most the dimensions other than MSAA need, with and without a16
        counts = [self.address_count(d, a16) for d in IMAGE_DIMS if 'MSAA' not in d for a16 in (False, True)]
        self.words = range(min(counts), max(counts) + 1)

    def range_ok(self, n: int) -> bool:
        """Whether LLVM has a form with the addresses in one range of n VGPRs."""
        if n <= 4:
            return True
        return self.sampler and (n in self.words or (n == 8 and any(5 <= w <= 7 for w in self.words)))

    def list_ok(self, n: int) -> bool:
        """Whether LLVM has a form with n addresses named one by one."""
        return n in self.words if self.sampler else 2 <= n <= 4

    def partial_ok(self, last: int) -> bool:
        """Whether LLVM has a form with four single addresses and a range of `last` VGPRs."""
        return self.sampler and NSA_SLOTS - 1 + last in self.words

    def address_count(self, dim: str, a16: bool) -> int:
        """The address VGPRs for a dimension (LLVM's rule: 16-bit coordinates pack in pairs,
        16-bit derivatives are packed per coordinate and padded to an even count)."""
        _, coords, grads = IMAGE_DIMS[dim]
        n = self.extra
        comps = (coords if self.coords else 0) + (1 if self.lod else 0)
        n += (comps + 1) // 2 if a16 else comps
        if self.grads:
            n += ((grads // 2 + 1) & ~1) if self.g16 else grads
        return n

    # What LLVM's decoder makes of an image instruction: it reads one default form per opcode
    # (data and address sizes below), then switches to the form dmask, d16, tfe, dim and a16 call
    # for, where LLVM has that form and its registers fit; otherwise it prints the default form.

    def data_count(self, dmask: int, d16: bool, tfe: bool) -> int:
        """The data VGPRs dmask, d16 and tfe call for (gather and MSAA loads return four channels)."""
        n = 4 if (self.gather or self.msaa) else max(1, bin(dmask & 0xF).count('1'))
        if d16:
            n = (n + 1) // 2
        return n + 1 if tfe else n

    def data_regs(self, count: int) -> int | None:
        """The data VGPRs LLVM prints for a form of `count` data VGPRs; None: it has no such form."""
        if self.cmpswap:
            return count if count in (2, 4) else None
        if self.atomic:
            return {1: 1, 2: 2, 4: 5}.get(count)      # LLVM's 4-dword atomic form holds five VGPRs
        if self.gather:
            return count if count in (2, 4, 5) else None
        return count if 1 <= count <= 5 else None

    @property
    def default_data(self) -> int:
        return 4 if (self.gather or self.msaa) else 2 if self.cmpswap else 1

    def nsa_ok(self, n: int) -> bool:
        """Whether LLVM has an NSA form with n address VGPRs (past the fifth, the last slot is a range)."""
        if n < 2:
            return False
        return self.list_ok(n) if n <= NSA_SLOTS else self.partial_ok(n - NSA_SLOTS + 1)

    def default_addresses(self, nsa: bool) -> int:
        """The address VGPRs of the decoder's default form: the most single addresses of an NSA
        form, or the fewest VGPRs of a range (LLVM counts derivatives as few as two VGPRs there)."""
        if nsa:
            return max(n for n in range(2, NSA_SLOTS + 1) if self.nsa_ok(n))
        return self.extra + (2 if self.grads else 1) if self.sampler else 1

    def bvh_slots(self, a16: bool) -> tuple[int, ...]:
        """The VGPRs of each ray tracing address: node pointer, ray extent, origin, direction,
        inverse direction (direction and inverse direction share three VGPRs with a16)."""
        return ((2 if self.bvh64 else 1), 1, 3, 3) + (() if a16 else (3,))
