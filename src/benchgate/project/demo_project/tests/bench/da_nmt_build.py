"""Building a namespaced Merkle tree (NMT) over sha256, as data-availability layers do.

Each leaf carries a namespace id (8 bytes) and its data; leaves are sorted by namespace.
A leaf node is ``ns || ns || sha256(0x00 || ns || data)``; an inner node is
``min_ns || max_ns || sha256(0x01 || left || right)`` where min/max are the smallest and
largest namespaces under it, so a proof can show that a namespace is complete. The tree
splits like RFC 6962 (an odd node at the end of a level is carried up). Metric:
``leaves_per_sec``, leaves hashed into a root per second. The root's namespace range and
value are checked before timing.
"""

from __future__ import annotations

import random
from hashlib import sha256

from benchgate import bench

NS_SIZE = 8
LEAVES = 512
NAMESPACES = 16
LEAF_DATA = 256
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

bench.configure(min_time=0.05, samples=5)


def leaf_node(ns: bytes, data: bytes) -> bytes:
    return ns + ns + sha256(LEAF_PREFIX + ns + data).digest()


def inner_node(left: bytes, right: bytes) -> bytes:
    lo = min(left[:NS_SIZE], right[:NS_SIZE])
    hi = max(left[NS_SIZE : 2 * NS_SIZE], right[NS_SIZE : 2 * NS_SIZE])
    return lo + hi + sha256(NODE_PREFIX + left + right).digest()


def nmt_root(leaves: list[tuple[bytes, bytes]]) -> bytes:
    """Root of the NMT over ``(namespace, data)`` leaves, which must be sorted by namespace."""
    if not leaves:
        return bytes(2 * NS_SIZE) + sha256(b"").digest()
    level = []
    prev = b""
    for ns, data in leaves:
        if len(ns) != NS_SIZE or ns < prev:
            raise ValueError("leaves must carry 8-byte namespaces in ascending order")
        prev = ns
        level.append(leaf_node(ns, data))
    while len(level) > 1:
        nxt = [inner_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def make_leaves() -> list[tuple[bytes, bytes]]:
    rng = random.Random(0)
    namespaces = sorted(rng.randbytes(NS_SIZE) for _ in range(NAMESPACES))
    per_ns = LEAVES // NAMESPACES
    leaves = [(ns, rng.randbytes(LEAF_DATA)) for ns in namespaces for _ in range(per_ns)]
    root = nmt_root(leaves)
    if root[:NS_SIZE] != namespaces[0] or root[NS_SIZE : 2 * NS_SIZE] != namespaces[-1]:
        raise SystemExit("NMT root does not span the namespaces of its leaves")
    if nmt_root(leaves) != root or nmt_root(leaves[:-1]) == root:
        raise SystemExit("NMT root is not a function of its leaves")
    return leaves


@bench.metric("leaves_per_sec", items_per_call=len, unit="leaves/sec", setup=make_leaves)
def build(leaves: list[tuple[bytes, bytes]]) -> bytes:
    return nmt_root(leaves)


if __name__ == "__main__":
    bench.main()
