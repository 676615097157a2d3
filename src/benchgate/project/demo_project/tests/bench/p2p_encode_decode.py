"""Wire frames of a peer-to-peer protocol through a real serializer, encode then decode.

msgspec (MessagePack, typed structs) when it is installed, else cbor2 (CBOR, dicts); with
neither the bench reports itself unavailable here (exit 77, SKIPPED). Each call round-trips
a batch of ``FRAMES`` frames of mixed kinds and sizes. Metric: ``frames_per_sec``, frames
encoded and decoded per second. The round trip is checked for equality before timing.
Note that the two serializers differ several-fold in speed: compare like with like (the
serializer and its version are in the run's dependency record).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

from benchgate import bench

FRAMES = 200
KINDS = ["tx", "block_header", "ping", "inv", "getdata"]

bench.configure(min_time=0.05, samples=5)

try:
    import msgspec

    HAVE_MSGSPEC = True
except ImportError:
    HAVE_MSGSPEC = False

if HAVE_MSGSPEC:

    class Frame(msgspec.Struct):
        kind: str
        seq: int
        peer: str
        topic: str
        ts: float
        hops: list[str]
        payload: bytes

    _enc = msgspec.msgpack.Encoder()
    _dec = msgspec.msgpack.Decoder(Frame)
    SERIALIZER = f"msgspec {msgspec.__version__} (msgpack)"

    def make_frame(**fields: Any) -> Any:
        return Frame(**fields)

    encode: Callable[[Any], bytes] = _enc.encode
    decode: Callable[[bytes], Any] = _dec.decode
else:
    try:
        import cbor2
    except ImportError:
        bench.skip("no serializer: pip install msgspec")
    SERIALIZER = f"cbor2 {getattr(cbor2, '__version__', '')} (CBOR)".replace("  ", " ")

    def make_frame(**fields: Any) -> Any:
        return fields

    encode = cbor2.dumps
    decode = cbor2.loads


def make_frames() -> list[Any]:
    rng = random.Random(0)
    frames = [
        make_frame(
            kind=rng.choice(KINDS),
            seq=i,
            peer=f"12D3KooW{rng.getrandbits(64):016x}",
            topic=f"/chain/{rng.choice(KINDS)}/1",
            ts=1_700_000_000 + i * 0.25,
            hops=[f"peer{rng.randrange(100)}" for _ in range(rng.randrange(4))],
            payload=rng.randbytes(rng.choice([32, 96, 256, 1024])),
        )
        for i in range(FRAMES)
    ]
    if [decode(encode(f)) for f in frames] != frames:
        raise SystemExit(f"{SERIALIZER}: frames do not survive an encode/decode round trip")
    print(f"serializer: {SERIALIZER}", file=sys.stderr)
    return frames


@bench.metric("frames_per_sec", ops_per_call=len, unit="frames", setup=make_frames)
def round_trip(frames: list[Any]) -> None:
    enc, dec = encode, decode
    for f in frames:
        dec(enc(f))


if __name__ == "__main__":
    bench.main()
