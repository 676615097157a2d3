"""A miner's inner loop: double sha256 over an 80-byte block header, nonce by nonce.

The header (version, previous block hash, merkle root, time, bits, nonce) is hashed the
way miners do it: the first 64 bytes once (the midstate), then per nonce a copy of the
midstate finishes the last 16 bytes, and the digest is hashed again and compared with the
share target. Each call scans the next ``BATCH`` nonces. Metric: ``hashes_per_sec``.
The midstate shortcut is checked against hashing the full header before timing.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from benchgate import bench

BATCH = 2000
SHARE_TARGET = (1 << 240) - 1  # a share every ~65536 hashes, so the compare is exercised

bench.configure(min_time=0.05, samples=5)


@dataclass
class Job:
    midstate: Any  # hashlib object over the header's first 64 bytes
    tail: bytes  # header bytes 64..76: end of merkle root, time, bits
    target: bytes  # share target, 32 bytes big-endian
    nonce: int = 0
    shares: int = 0


def header_prefix() -> bytes:
    """The first 76 bytes of a block header (everything but the nonce)."""
    prev_hash = sha256(b"previous block").digest()
    merkle_root = sha256(b"transactions").digest()
    return struct.pack("<I32s32sII", 0x20000000, prev_hash, merkle_root, 1_700_000_000, 0x1D00FFFF)


def new_job() -> Job:
    prefix = header_prefix()
    job = Job(sha256(prefix[:64]), prefix[64:], SHARE_TARGET.to_bytes(32, "big"))
    nonce = 12345
    full = sha256(sha256(prefix + nonce.to_bytes(4, "little")).digest()).digest()
    h = job.midstate.copy()
    h.update(job.tail + nonce.to_bytes(4, "little"))
    if sha256(h.digest()).digest() != full:
        raise SystemExit("midstate hashing differs from hashing the full header")
    return job


def report(job: Job) -> None:
    print(f"scanned {job.nonce} nonces, {job.shares} shares found", file=sys.stderr)


@bench.metric("hashes_per_sec", ops_per_call=BATCH, unit="hashes", setup=new_job, teardown=report)
def scan(job: Job) -> None:
    midstate, tail, target = job.midstate, job.tail, job.target
    start = job.nonce
    for nonce in range(start, start + BATCH):
        h = midstate.copy()
        h.update(tail + (nonce & 0xFFFFFFFF).to_bytes(4, "little"))
        # Bitcoin compares the hash as a little-endian number: reverse, then compare bytes.
        if sha256(h.digest()).digest()[::-1] <= target:
            job.shares += 1
    job.nonce = start + BATCH


if __name__ == "__main__":
    bench.main()
