"""Property-based fuzzing of the parsers of untrusted input (Hypothesis).

Whatever a bench prints, and whatever a run file or reduced.json holds, the result is a
value or a one-line BenchgateError: never another exception, never a value the gate
should not see (NaN, zero, negative, a name with a newline), and the bench-output search
does linear work (counted, not timed).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchgate.errors import BenchgateError
from benchgate.judge.reduce import load_reduced, reduce_runs, write_reduced
from benchgate.model import REDUCED_SCHEMA, RESULTS_SCHEMA
from benchgate.run.protocol import find_last_object, parse_output
from benchgate.run.results import read_result_file
from benchgate.validate import name_problem

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Numbers a hostile bench or file may hold: huge ints, non-finite floats, zero, negatives.
numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**400, 1e308, 5e-324]),
)
# Text with lone surrogates, control characters, newlines, braces and quotes.
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\ud800", "a\nb", "x\x00", "::add-mask::x", "{", '"', "ok_per_s"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def _metric_spec() -> st.SearchStrategy[Any]:
    return st.one_of(
        numbers,
        st.fixed_dictionaries(
            {"value": numbers},
            optional={
                "unit": st.one_of(texts, numbers, st.none()),
                "higher_is_better": st.one_of(st.booleans(), texts, numbers),
                "samples": st.one_of(st.lists(numbers, max_size=4), texts, numbers),
            },
        ),
        json_values,
    )


bench_objects = st.one_of(
    st.fixed_dictionaries({"metrics": st.dictionaries(texts, _metric_spec(), max_size=3)}),
    st.fixed_dictionaries(
        {"result": st.dictionaries(texts, st.one_of(numbers, json_values), max_size=3)},
        optional={"case": json_values, "params": json_values},
    ),
    st.fixed_dictionaries({"skip": json_values}),
    st.dictionaries(texts, json_values, max_size=3),
)

fragments = st.lists(
    st.sampled_from(
        ["{", "}", '"', "\\", "\n", ":", ",", "[", "]", '{"metrics": ', '{"value": ', "1e999"]
        + ['"x_per_s"', "NaN", "-1", "1" * 400, '"\\ud800"', "log line ", '{"a":' * 3]
    ),
    max_size=40,
).map("".join)


def _dump(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True)


outputs = st.one_of(
    st.text(max_size=200),
    fragments,
    st.tuples(fragments, bench_objects.map(_dump), fragments).map("".join),
    st.tuples(bench_objects.map(lambda o: json.dumps(o, indent=2)), st.text(max_size=20)).map(
        "\n".join
    ),
)


@FUZZ
@given(outputs)
def test_bench_output_gives_metrics_a_skip_or_a_one_line_error(text: str) -> None:
    out = parse_output(text)
    assert (out.error is None) != (not out.metrics and out.skip is None)
    if out.error is not None:
        assert "\n" not in out.error
    if out.skip is not None:
        out.skip.encode("utf-8")  # storable and printable
        assert "\n" not in out.skip
    for name, m in out.metrics.items():
        assert name_problem(name) is None
        assert math.isfinite(m.value) and m.value > 0
        assert name_problem(m.unit, "unit") is None
        assert all(math.isfinite(s) for s in m.samples or [])
    # Whatever was accepted can be written to a run file and printed (valid UTF-8).
    json.dumps(
        {k: m.to_dict() for k, m in out.metrics.items()} | {"extra": out.extra},
        allow_nan=False,
        ensure_ascii=False,
    ).encode("utf-8")


@FUZZ
@given(outputs)
def test_the_search_does_linear_work(text: str) -> None:
    found = find_last_object(text)
    assert found.tokens <= 2 * len(text) + 1
    assert found.decoded_chars <= 8 * len(text) + 16384


run_fields = st.fixed_dictionaries(
    {
        "run_id": st.one_of(st.just("r1"), texts, numbers),
        "bench": st.one_of(st.just("a"), texts),
        "started": st.one_of(st.just("2026-01-01T00:00:00+00:00"), json_values),
        "status": st.one_of(st.sampled_from(["ok", "error", "skipped"]), json_values),
        "metrics": st.one_of(
            st.dictionaries(texts, st.one_of(_metric_spec(), json_values), max_size=3),
            json_values,
        ),
    },
    optional={
        "duration_s": numbers,
        "exit_code": st.one_of(numbers, json_values),
        "disturbance": json_values,
        "env": json_values,
        "command": json_values,
        "extra": json_values,
        "reason": json_values,
    },
)


def _one_line(exc: BenchgateError) -> None:
    assert "\n" not in str(exc) and "\r" not in str(exc)


HOSTILE_RUN = {
    "run_id": "r1",
    "bench": "a",
    "started": "2026-01-01T00:00:00+00:00",
    "status": "error",
    "reason": "bad \ud800 \x1b[31m",
    "stderr_tail": "x\ud800\ny",
    "extra": {"k\ud800": "v\ud800", "n": float("nan")},
}


@FUZZ
@example([HOSTILE_RUN], False)
@example([{**HOSTILE_RUN, "status": "ok", "metrics": {"x": {"value": 10**400}}}], False)
@example([{**HOSTILE_RUN, "metrics": [1]}], False)
@example([{**HOSTILE_RUN, "disturbance": "yes"}], False)
@given(st.lists(st.one_of(run_fields, json_values), max_size=3), st.booleans())
def test_run_file_reader_gives_runs_or_a_one_line_error(runs: list[Any], raw: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "a.json"
        doc = {"schema": RESULTS_SCHEMA, "bench": "a", "runs": runs}
        path.write_text(_dump(doc) if not raw else _dump(runs)[:-1], encoding="utf-8")
        try:
            records = read_result_file(path)
        except BenchgateError as exc:
            _one_line(exc)
            return
        for r in records:
            json.dumps(r.to_dict(), ensure_ascii=False).encode("utf-8")  # printable
            for name, m in r.metrics.items():
                assert name_problem(name) is None
                assert math.isfinite(m.value) and m.value > 0
        # Accepted runs reduce, and the reduction round-trips through reduced.json.
        reduced = reduce_runs({"a": records})
        write_reduced(Path(d), reduced)
        load_reduced(Path(d))


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "schema": st.just(REDUCED_SCHEMA),
            "method": st.one_of(st.just("median"), json_values),
            "run_ids": st.one_of(st.lists(texts, max_size=2), json_values),
            "benches": st.one_of(st.dictionaries(texts, json_values, max_size=2), json_values),
            "metrics": st.one_of(
                st.dictionaries(
                    texts,
                    st.fixed_dictionaries(
                        {
                            "key": st.just("a.x"),
                            "bench": st.just("a"),
                            "metric": st.just("x"),
                            "value": numbers,
                            "unit": texts,
                            "higher_is_better": st.booleans(),
                            "method": st.just("median"),
                            "spread": json_values,
                            "values": st.lists(numbers, max_size=3),
                            "run_ids": st.lists(texts, max_size=3),
                        }
                    ),
                    max_size=2,
                ),
                json_values,
            ),
        }
    )
)
def test_reduced_reader_gives_a_set_or_a_one_line_error(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "reduced.json").write_text(_dump(doc), encoding="utf-8")
        try:
            reduced = load_reduced(Path(d))
        except BenchgateError as exc:
            _one_line(exc)
            return
        assert reduced is not None
        for m in reduced.metrics.values():
            assert math.isfinite(m.value) and m.value > 0
            assert all(math.isfinite(v) and v > 0 for v in m.values)
