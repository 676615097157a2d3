"""Instruction counts under valgrind, end to end through the real CLI.

Valgrind runs a process about 50x slower, so these tests are few and small: about ten
counted processes in all. Without valgrind they skip with how to install it, unless the
CI variable is set: then they fail (CI installs valgrind).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from benchgate.run.measure import INSTALL_HINT, valgrind_version

if valgrind_version() is None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {INSTALL_HINT}", pytrace=False)
    pytest.skip(INSTALL_HINT, allow_module_level=True)

# A fixed pure-Python loop: its count is proportional to n.
LOOP = """
def work(n):
    h = 0x811C9DC5
    for i in range(n):
        h = ((h ^ (i & 0xFF)) * 0x01000193) & 0xFFFFFFFF
    return h
"""

LIGHT = (
    "from benchgate import bench\n"
    + LOOP
    + """
@bench.metric("work_s", params={"n": [500, 505]})
def op(n):
    work(n)

if __name__ == "__main__":
    bench.main()
"""
)

# The same operation behind a heavy import and a heavy setup: both must cancel out.
HEAVY = (
    "import decimal, email.parser, fractions, json, statistics, xml.dom.minidom\n"
    "from benchgate import bench\n"
    + LOOP
    + """
TABLE = {str(i): [i] * 10 for i in range(5_000)}

def setup():
    return sorted(TABLE, reverse=True)[:5]

@bench.metric("work_s", setup=setup)
def op(state):
    work(500)

if __name__ == "__main__":
    bench.main()
"""
)


def _runs(project: Path, bench: str) -> list[dict[str, object]]:
    data = json.loads((project / "tests" / "reports" / "bench" / f"{bench}.json").read_text())
    return list(data["runs"])


def _value(run: dict[str, object], key: str) -> float:
    metrics = run["metrics"]
    assert isinstance(metrics, dict), run
    return float(metrics[key]["value"])


def test_per_call_counts_exact_deterministic_and_startup_free(
    cli: Callable[..., Result], write_bench: Callable[[str, str], Path], project: Path
) -> None:
    write_bench("light", LIGHT)
    write_bench("heavy", HEAVY)
    res = cli("run", "--measure", "instructions")
    assert res.exit_code == 0, res.output
    res = cli("run", "--measure", "instructions", "--append", "-k", "heavy")
    assert res.exit_code == 0, res.output

    (light,) = _runs(project, "light")
    base = _value(light, "work_s_instructions[n=500]")
    plus = _value(light, "work_s_instructions[n=505]")
    m = light["metrics"]
    assert isinstance(m, dict)
    assert m["work_s_instructions[n=500]"]["unit"] == "instructions"
    assert m["work_s_instructions[n=500]"]["higher_is_better"] is False
    # A 1% longer loop: a 1% higher count, seen (almost) exactly.
    assert plus / base == pytest.approx(1.01, abs=0.0005)

    first, second = _runs(project, "heavy")
    # Deterministic: the same count, to the last instruction, in two runs.
    assert _value(first, "work_s_instructions") == _value(second, "work_s_instructions")
    # Start-up cancelled: a heavy import and setup leave the per-call count as it was, up
    # to the memory-layout effect docs/measurements.md states (a few tenths of a percent:
    # the heavy import moves where the loop's objects live). Without the cancellation the
    # count would be off by the whole start-up, hundreds of times the per-call count.
    assert _value(first, "work_s_instructions") == pytest.approx(base, rel=5e-3)
    # Hundreds of millions for the process; about a million per call.
    assert 100_000 < base < 10_000_000


def test_time_dependent_count_is_flagged_and_process_scope_stated(
    cli: Callable[..., Result], write_bench: Callable[[str, str], Path], project: Path
) -> None:
    write_bench(
        "clocky",
        """
        import json, time
        n = 1000 + time.time_ns() % 7919 * 10   # work that depends on the clock
        x = 0
        for i in range(n):
            x += i
        print(json.dumps({"result": {"calls_per_s": 1.0}}))
        """,
    )
    res = cli("run", "--measure", "instructions", "--repeat", "2")
    assert res.exit_code == 0, res.output
    assert "[counted: whole process]" in res.output
    runs = _runs(project, "clocky")
    assert [set(r["metrics"]) for r in runs] == [{"process_instructions"}] * 2  # type: ignore[arg-type]
    res = cli("reduce")
    assert "warning: Determinism problem: clocky.process_instructions varied by" in res.output
    assert "time" in res.output and "PYTHONHASHSEED" in res.output


@pytest.mark.skipif(shutil.which("valgrind") is None, reason=INSTALL_HINT)
def test_doctor_reports_valgrind_version(cli: Callable[..., Result]) -> None:
    res = cli("doctor", "--format", "json")
    checks = {c["name"]: c for c in json.loads(res.output)["checks"]}
    assert checks["valgrind"]["status"] == "ok"
    assert checks["valgrind"]["detail"].startswith(valgrind_version() or "?")
