"""Block building: select mempool transactions under a gas budget and a size budget.

Written the way bench scripts are found in the wild -- without benchgate's API: it times
the selection itself and prints ``{"case": ..., "params": ..., "result": {...}}`` after a
couple of log lines on stdout. benchgate accepts that form unchanged: every number of
``result`` is a metric (``ops_per_sec`` higher is better; ``median_s`` and ``p90_s`` lower
is better, in seconds), see docs/formats.md.

The selection is the usual one: the best-paying next transaction of each sender sits in a
heap (a sender's transactions must go in nonce order); take the best that fits both
budgets, then offer that sender's next one; a sender whose next transaction does not fit
is done for this block (a later nonce cannot skip it).
"""

from __future__ import annotations

import heapq
import json
import random
import statistics
import time

SENDERS = 2_000
TXS_PER_SENDER = 8
GAS_LIMIT = 30_000_000
SIZE_LIMIT = 1024 * 1024
REPEATS = 300

# (sender, nonce, fee per gas, gas, size)
Tx = tuple[int, int, int, int, int]


def make_pool(seed: int = 0) -> dict[int, list[Tx]]:
    """Pending transactions by sender, each sender's list in nonce order."""
    rng = random.Random(seed)
    pool: dict[int, list[Tx]] = {}
    for sender in range(SENDERS):
        base_fee = rng.randrange(1, 200)
        pool[sender] = [
            (
                sender,
                nonce,
                max(1, base_fee + rng.randrange(-20, 21)),
                rng.choice([21_000, 21_000, 50_000, 120_000, 300_000]),
                rng.randrange(110, 2_000),
            )
            for nonce in range(TXS_PER_SENDER)
        ]
    return pool


def select(pool: dict[int, list[Tx]], gas_limit: int, size_limit: int) -> list[Tx]:
    """The transactions of the next block, best fee per gas first, nonces in order."""
    heap = [(-txs[0][2], sender, 0) for sender, txs in pool.items() if txs]
    heapq.heapify(heap)
    chosen: list[Tx] = []
    gas_left, size_left = gas_limit, size_limit
    while heap and gas_left >= 21_000:
        _, sender, i = heapq.heappop(heap)
        tx = pool[sender][i]
        if tx[3] > gas_left or tx[4] > size_left:
            continue  # this sender is done for this block
        chosen.append(tx)
        gas_left -= tx[3]
        size_left -= tx[4]
        if i + 1 < len(pool[sender]):
            heapq.heappush(heap, (-pool[sender][i + 1][2], sender, i + 1))
    return chosen


def check(block: list[Tx]) -> None:
    """Budgets respected and each sender's nonces contiguous from 0: else fail loudly."""
    if sum(t[3] for t in block) > GAS_LIMIT or sum(t[4] for t in block) > SIZE_LIMIT:
        raise SystemExit("mempool_select: the block exceeds its budgets")
    nonces: dict[int, list[int]] = {}
    for t in block:
        nonces.setdefault(t[0], []).append(t[1])
    if any(n != list(range(len(n))) for n in nonces.values()):
        raise SystemExit("mempool_select: a sender's nonces are out of order")


def main() -> None:
    pool = make_pool()
    print(f"mempool_select: {SENDERS * TXS_PER_SENDER} pending txs from {SENDERS} senders")
    block = select(pool, GAS_LIMIT, SIZE_LIMIT)  # warm-up
    check(block)
    print(f"block: {len(block)} txs; timing {REPEATS} selections")
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        select(pool, GAS_LIMIT, SIZE_LIMIT)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1]
    print(
        json.dumps(
            {
                "case": "mempool_select",
                "params": {
                    "senders": SENDERS,
                    "txs": SENDERS * TXS_PER_SENDER,
                    "gas_limit": GAS_LIMIT,
                    "size_limit": SIZE_LIMIT,
                },
                "result": {"ops_per_sec": 1.0 / median, "median_s": median, "p90_s": p90},
            }
        )
    )


if __name__ == "__main__":
    main()
