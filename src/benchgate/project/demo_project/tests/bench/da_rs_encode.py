"""Reed-Solomon erasure coding of a 64 KiB blob: 8 data + 4 parity shards over GF(256).

Metrics: ``encode_MBps`` (data bytes encoded per second) and ``decode_MBps`` (data bytes
recovered per second after erasing 4 of the 12 shards: 3 data shards and 1 parity shard,
so decoding inverts the surviving rows of the generator and rebuilds the lost data).
Decoding is checked against the original data before and after timing; a mismatch fails
the bench. The code itself is in ``_rs.py`` next to this file.
"""

from __future__ import annotations

import random

from _rs import ReedSolomon

from benchgate import bench

K, M = 8, 4
DATA_SIZE = 64 * 1024
ERASED = (0, 3, 5, 9)  # three data shards and one parity shard

bench.configure(min_time=0.05, samples=5)


def make_data() -> bytes:
    return random.Random(0).randbytes(DATA_SIZE)


def encode_state() -> tuple[ReedSolomon, bytes]:
    return ReedSolomon(K, M), make_data()


@bench.metric("encode_MBps", bytes_per_call=DATA_SIZE, setup=encode_state)
def encode(state: tuple[ReedSolomon, bytes]) -> list[bytes]:
    rs, data = state
    return rs.encode(data)


def check(rs: ReedSolomon, shards: list[bytes | None], data: bytes) -> None:
    """Fail loudly when decoding does not give the data back."""
    if rs.decode(shards, len(data)) != data:
        raise SystemExit(f"Reed-Solomon decode is wrong after erasing shards {ERASED}")


def decode_state() -> tuple[ReedSolomon, list[bytes | None], bytes]:
    rs, data = encode_state()
    shards: list[bytes | None] = list(rs.encode(data))
    for i in ERASED:
        shards[i] = None
    check(rs, shards, data)
    return rs, shards, data


@bench.metric(
    "decode_MBps",
    bytes_per_call=DATA_SIZE,
    setup=decode_state,
    teardown=lambda state: check(*state),
)
def decode(state: tuple[ReedSolomon, list[bytes | None], bytes]) -> bytes:
    rs, shards, data = state
    return rs.decode(shards, len(data))


if __name__ == "__main__":
    bench.main()
