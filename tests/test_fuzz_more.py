"""Property tests for more parsers of untrusted input.

Each property: whatever the input, the parser returns a value or raises a one-line
BenchgateError, never another exception. The two valgrind readers (cachegrind summaries,
callgrind files) document ValueError instead, which their callers turn into a message or
a fallback; for them the property is "a value or a one-line ValueError".

Covered here: ``init --migrate``'s converter, store URLs, cachegrind and callgrind output,
``--durations`` files, ``[tool.benchgate.machines]`` and ``measure`` / ``measure_per_bench``.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchgate.config import load_config, measure_settings
from benchgate.errors import BenchgateError
from benchgate.explain.profiles import parse_callgrind
from benchgate.machine.classes import machine_classes
from benchgate.project.migrate import LAYOUTS, detect_layout, migrate_baselines
from benchgate.run.measure import MEASURES, read_cachegrind
from benchgate.run.shard import recorded_durations
from benchgate.store.url import parse_store_url

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T = TypeVar("T")


def _one_line_or_value(fn: Callable[[], T], errors: tuple[type[Exception], ...] = ()) -> T | None:
    """``fn()``, or None when it raised a one-line BenchgateError (or one of ``errors``)."""
    try:
        return fn()
    except BenchgateError as err:
        assert "\n" not in str(err), str(err)
        return None
    except errors as err:
        assert "\n" not in str(err), str(err)
        return None


# --- hostile JSON -------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**400, 1e308, 5e-324, float("nan"), float("inf")]),
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", ".", "a.b", "\ud800", "a\nb", "x\x00", "value", "metric", "cases", "meta"]
        + ["script", "result", "ops_per_s", "time_s", "tests/bench/x.py", "f(N=1)", "unit"]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def _dump(obj: Any) -> str:
    # allow_nan: a hostile file may hold NaN/Infinity, which Python's json reads back.
    return json.dumps(obj, allow_nan=True, ensure_ascii=False)


# Documents shaped like the layouts the converter knows, with hostile leaves.
case_entries = st.one_of(
    st.fixed_dictionaries(
        {"metric": texts, "value": numbers},
        optional={
            "script": st.one_of(texts, json_values),
            "higher_is_better": json_values,
            "result": json_values,
            "unit": json_values,
            "degradation_pct_max": json_values,
            "variance_pct_warn": json_values,
        },
    ),
    json_values,
)
meta_cases = st.fixed_dictionaries(
    {"cases": st.dictionaries(texts, case_entries, max_size=4)},
    optional={"meta": json_values, "schema": json_values},
)
nested = st.dictionaries(
    texts,
    st.dictionaries(
        texts,
        st.one_of(
            numbers,
            st.fixed_dictionaries(
                {"value": numbers},
                optional={"higher_is_better": json_values, "unit": json_values},
            ),
            st.dictionaries(texts, json_values, max_size=2),
        ),
        min_size=1,
        max_size=3,
    ),
    max_size=3,
)
benchgate_layout = st.dictionaries(
    texts.map(lambda t: t if "." in t else f"b.{t}"),
    st.fixed_dictionaries({"value": numbers}, optional={"unit": json_values}),
    max_size=3,
)
baselines_docs = st.one_of(json_values, meta_cases, nested, benchgate_layout)


def _migrate(text: str, benches: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "baselines.json")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        m = _one_line_or_value(lambda: migrate_baselines(path, benches, "tests/bench"))
        if m is None:
            return
        assert m.layout in LAYOUTS
        if m.changed:
            # What would be written is benchgate's layout, all finite positive values.
            new = json.loads(m.new_text)
            assert detect_layout(new) == "benchgate"
            for entry in new.values():
                assert isinstance(entry["value"], (int, float)) and not isinstance(
                    entry["value"], bool
                )
                assert math.isfinite(entry["value"]) and entry["value"] > 0
            assert isinstance(m.diff(), str)


@FUZZ
@given(baselines_docs, st.lists(texts, max_size=3))
@example({"cases": {"a": {"metric": "ops", "value": 10**400}}}, [])
@example({"cases": {"a": {"metric": "ops", "value": 1.0, "script": ""}}}, ["a"])
@example({"b": {"m": float("nan")}}, [])
@example({"b": {"m": {"value": 2, "unit": ["x"]}}}, [])
@example({"b": {"m": {"value": 2, "higher_is_better": "yes"}}}, [])
def test_migrate_any_json(doc: Any, benches: list[str]) -> None:
    _migrate(_dump(doc), benches)


@FUZZ
@given(st.one_of(st.text(max_size=200), baselines_docs.map(_dump).map(lambda s: s[: len(s) // 2])))
def test_migrate_any_text(text: str) -> None:
    _migrate(text, ["a", "b"])


# --- store URLs ---------------------------------------------------------------------------

url_fragments = st.lists(
    st.sampled_from(
        ["sqlite", "postgresql", "postgres", "off", "on", ":", "//", "/", "@", "?", "#", ","]
        + ["localhost", "[::1]", "[", "]", ":5432", ":99999", ":x", "user:pw", "db", "."]
        + [" ", "\t", "\x00", "%", "..", "a.db", "SQLITE", "\ud800", "é"]
    ),
    max_size=12,
).map("".join)


@FUZZ
@given(st.one_of(st.text(max_size=80), url_fragments))
@example("postgresql://u:pw@[::1")
@example("postgresql://h:99999/db")
@example("sqlite:\x00")
@example("sqlite:///\x00")
def test_store_url_any_string(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        url = _one_line_or_value(lambda: parse_store_url(text, root))
        if url is None:
            return
        assert url.kind in ("sqlite", "postgresql", "off")
        assert (url.path is not None) == (url.kind == "sqlite")
        assert isinstance(url.display, str)
        if url.kind == "postgresql" and "pw@" in text:
            assert "pw@" not in url.display


# --- cachegrind and callgrind output ------------------------------------------------------

CACHEGRIND = """\
desc: I1 cache: 32768 B, 64 B, 8-way associative
cmd: python3 bench.py
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw
fl=/src/a.c
fn=main
1 100 1 1 40 2 1 20 1 0
2 50 0 0 10 0 0 5 0 0
summary: 150 1 1 50 2 1 25 1 0
"""

CALLGRIND = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 950
fl=(1) /src/a.c
fn=(1) main
0 100
cfl=(2) /src/b.c
cfn=(2) leaf
calls=2 0
0 40
fn=(3) helper'2
0 810
fl=(2)
fn=(2)
0 40
totals: 950
"""

line_edits = st.sampled_from(["drop", "dup", "swap", "truncate", "replace", "insert"])
tokens = st.sampled_from(
    ["", "events:", "summary:", "totals:", "positions: line instr", "fn=(9)", "fl=(7)"]
    + ["calls=1", "cfn=(4) x", "0", "-1", "+2", "*", "1e9", "nan", "99999999999999999999999"]
    + ["fn=", "=", "(1)", "events: Ir", "events: Dr", "summary: x", " ", "\x00", "fn=f'3"]
)


def _mutate(sample: str, data: st.DataObject) -> str:
    """``sample`` with a few lines dropped, duplicated, swapped, cut or replaced."""
    lines = sample.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(line_edits)
        if edit == "drop":
            del lines[i]
        elif edit == "dup":
            lines.insert(i, lines[i])
        elif edit == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "truncate":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        elif edit == "replace":
            lines[i] = data.draw(st.one_of(tokens, st.text(max_size=20)))
        else:
            lines.insert(i, " ".join(data.draw(st.lists(tokens, max_size=4))))
    return "\n".join(lines) + "\n"


def _cachegrind(text: str) -> dict[str, int] | None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "cg.123")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        got = _one_line_or_value(lambda: read_cachegrind([path, path]), (ValueError,))
        if got is not None:
            assert all(isinstance(k, str) and isinstance(v, int) for k, v in got.items())
        return got


def test_cachegrind_sample_reads() -> None:
    got = _cachegrind(CACHEGRIND)
    assert got is not None and got["Ir"] == 300 and got["D1mw"] == 2


@FUZZ
@given(st.text(max_size=300))
@example("events: Ir\nsummary: 1\n\udcff")
def test_cachegrind_any_text(text: str) -> None:
    _cachegrind(text)


@FUZZ
@given(st.data())
def test_cachegrind_mutated_sample(data: st.DataObject) -> None:
    _cachegrind(_mutate(CACHEGRIND, data))


def _callgrind(text: str) -> None:
    got = _one_line_or_value(lambda: parse_callgrind(text, "callgrind.out.1"), (ValueError,))
    if got is None:
        return
    funcs, total = got
    assert isinstance(total, int)
    for key, f in funcs.items():
        assert key == f"{f.file}:{f.name}"
        assert isinstance(f.self_cost, (int, float)) and isinstance(f.total_cost, (int, float))


def test_callgrind_sample_reads() -> None:
    funcs, total = parse_callgrind(CALLGRIND)
    assert total == 950
    assert funcs["/src/a.c:main"].self_cost == 100
    assert funcs["/src/a.c:main"].total_cost == 140
    assert funcs["/src/a.c:helper"].self_cost == 810


@FUZZ
@given(st.data())
def test_callgrind_mutated_sample(data: st.DataObject) -> None:
    _callgrind(_mutate(CALLGRIND, data))


# --- --durations files --------------------------------------------------------------------

durations_docs = st.one_of(
    json_values,
    st.dictionaries(texts, numbers, max_size=4),
    st.fixed_dictionaries({"durations": st.dictionaries(texts, json_values, max_size=4)}),
)


@FUZZ
@given(st.one_of(durations_docs.map(_dump), st.text(max_size=100)))
@example('{"a": 1e999}')
@example('{"a": NaN}')
@example('{"durations": {"a": ' + "9" * 400 + "}}")
def test_durations_file_any_content(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "durations.json")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        got = _one_line_or_value(lambda: recorded_durations(path))
        if got is not None:
            for name, seconds in got.items():
                assert isinstance(name, str) and isinstance(seconds, float)
                assert seconds > 0


# --- [tool.benchgate.machines], measure, measure_per_bench --------------------------------


def toml_value(v: Any) -> str:
    """``v`` as a TOML inline value (json.dumps quotes strings as TOML basic strings)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


toml_texts = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["", "x86_64", "AMD*", "[", "a/b.json", "..", "arm-1", "a b", "é"]),
)
toml_scalars = (
    st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | toml_texts
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(toml_texts, inner, max_size=3),
    max_leaves=8,
)
machine_keys = st.sampled_from(
    ["arch", "cpu_model", "os", "hostname", "logical_cores", "baselines", "report", "nope"]
)
machine_tables = st.one_of(
    toml_values,
    st.dictionaries(
        toml_texts, st.one_of(st.dictionaries(machine_keys, toml_values, max_size=3), toml_values)
    ),
)
measure_names = st.sampled_from([*MEASURES, "both", "BOTH", " time ", "", ",", "nope", "Time"])
measure_values = st.one_of(
    st.lists(measure_names, max_size=3).map(",".join),
    st.lists(st.one_of(measure_names, toml_scalars), max_size=3),
    toml_values,
)


def _load_section(section: dict[str, Any]) -> None:
    body = "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in section.items())
    with tempfile.TemporaryDirectory() as d:
        Path(d, "pyproject.toml").write_text(
            f"[tool.benchgate]\n{body}\n", encoding="utf-8", errors="surrogatepass"
        )
        cfg = _one_line_or_value(lambda: load_config(Path(d)))
        if cfg is None:
            return
        # What every command does with these settings next: the same property holds.
        classes = _one_line_or_value(lambda: machine_classes(cfg))
        for cls in classes or []:
            assert cls.baselines and cls.report and isinstance(cls.describe(), str)
        got = _one_line_or_value(lambda: measure_settings(cfg, None))
        if got is not None:
            default, per_bench = got
            assert default and set(default) <= set(MEASURES)
            assert all(v and set(v) <= set(MEASURES) for v in per_bench.values())


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "machines": machine_tables,
            "measure": measure_values,
            "measure_per_bench": st.one_of(
                st.dictionaries(toml_texts, measure_values, max_size=3), toml_values
            ),
        },
    )
)
@example({"machines": {"a b": {}}})
@example({"machines": {"x": {"logical_cores": True}}})
@example({"measure": []})
@example({"measure_per_bench": {"x": [1]}})
def test_machines_and_measure_settings(section: dict[str, Any]) -> None:
    _load_section(section)
