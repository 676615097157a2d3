"""A systematic Reed-Solomon erasure code over GF(2^8), in pure Python (not a bench: ``_``).

``k`` data shards plus ``m`` parity shards; any ``k`` of the ``k + m`` shards recover the
data. The generator matrix is the identity (the data shards are stored as they are) over a
``m x k`` Cauchy matrix ``C[i][j] = 1 / (x_i + y_j)`` with ``x_i = k + i`` and ``y_j = j``:
every square submatrix of a Cauchy matrix is invertible, so every ``k`` rows of the
generator are too, and decoding is inverting those rows.

Field arithmetic uses log/exp tables of the primitive polynomial x^8+x^4+x^3+x^2+1
(0x11d). Multiplying a whole shard by a constant is one ``bytes.translate`` through that
constant's 256-byte multiplication table, and adding shards (XOR) is one XOR of two big
integers, so the per-byte work runs in C while the code stays plain Python.
"""

from __future__ import annotations

from collections.abc import Sequence

PRIMITIVE = 0x11D

EXP = [0] * 512
LOG = [0] * 256
_x = 1
for _i in range(255):
    EXP[_i] = _x
    LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= PRIMITIVE
for _i in range(255, 512):
    EXP[_i] = EXP[_i - 255]


def gf_mul(a: int, b: int) -> int:
    """Product in GF(256)."""
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


def gf_inv(a: int) -> int:
    """Multiplicative inverse in GF(256)."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(256)")
    return EXP[255 - LOG[a]]


# MUL_TABLES[c][x] == gf_mul(c, x): a translate table multiplying every byte by c.
MUL_TABLES = [bytes(gf_mul(c, x) for x in range(256)) for c in range(256)]


def invert(matrix: Sequence[Sequence[int]]) -> list[list[int]]:
    """Inverse of a square matrix over GF(256), by Gauss-Jordan elimination."""
    n = len(matrix)
    rows = [list(row) + [int(i == j) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col]), None)
        if pivot is None:
            raise ValueError("singular matrix")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        inv = gf_inv(rows[col][col])
        rows[col] = [gf_mul(inv, v) for v in rows[col]]
        for r in range(n):
            f = rows[r][col]
            if r != col and f:
                pivot_row = rows[col]
                rows[r] = [v ^ gf_mul(f, p) for v, p in zip(rows[r], pivot_row, strict=True)]
    return [row[n:] for row in rows]


def combine(coeffs: Sequence[int], shards: Sequence[bytes], length: int) -> bytes:
    """sum(coeffs[i] * shards[i]) over GF(256), byte by byte."""
    acc = 0
    for c, shard in zip(coeffs, shards, strict=True):
        if c == 0:
            continue
        if c != 1:
            shard = shard.translate(MUL_TABLES[c])
        acc ^= int.from_bytes(shard, "little")
    return acc.to_bytes(length, "little")


class ReedSolomon:
    """Systematic RS(k + m, k) over GF(256): ``encode`` to shards, ``decode`` from any k."""

    def __init__(self, k: int, m: int) -> None:
        if k < 1 or m < 1 or k + m > 256:
            raise ValueError(f"need 1 <= k, 1 <= m and k + m <= 256, got k={k}, m={m}")
        self.k = k
        self.m = m
        self.parity = [[gf_inv((k + i) ^ j) for j in range(k)] for i in range(m)]
        identity = [[int(i == j) for j in range(k)] for i in range(k)]
        self.generator = identity + self.parity

    def shard_size(self, size: int) -> int:
        """Bytes per shard for ``size`` bytes of data (the last shard is zero-padded)."""
        return max(1, -(-size // self.k))

    def encode(self, data: bytes) -> list[bytes]:
        """The k data shards (``data`` split, zero-padded) followed by the m parity shards."""
        n = self.shard_size(len(data))
        padded = data.ljust(n * self.k, b"\0")
        shards = [padded[i * n : (i + 1) * n] for i in range(self.k)]
        return shards + [combine(row, shards, n) for row in self.parity]

    def decode(self, shards: Sequence[bytes | None], size: int) -> bytes:
        """The original ``size`` bytes from k + m shards of which up to m are None (erased)."""
        if len(shards) != self.k + self.m:
            raise ValueError(f"expected {self.k + self.m} shards, got {len(shards)}")
        present = [i for i, s in enumerate(shards) if s is not None]
        if len(present) < self.k:
            raise ValueError(f"{len(present)} shards left, {self.k} are needed to decode")
        data = list(shards[: self.k])
        if all(s is not None for s in data):
            return b"".join(s for s in data if s is not None)[:size]
        rows = present[: self.k]
        used = [shards[r] for r in rows]
        n = len(used[0])  # type: ignore[arg-type]
        inverse = invert([self.generator[r] for r in rows])
        for j in range(self.k):
            if data[j] is None:
                data[j] = combine(inverse[j], used, n)  # type: ignore[arg-type]
        return b"".join(s for s in data if s is not None)[:size]
