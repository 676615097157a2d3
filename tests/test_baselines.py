"""baselines.json validation: every bad-input case names the file, the key, the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgate.baselines.file import load_baselines
from benchgate.errors import BenchgateError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "baselines.json"
    p.write_text(text)
    return p


def test_valid_file_with_defaults_and_unknown_fields(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        json.dumps(
            {
                "vm.steps_per_sec": {
                    "value": 1320000,
                    "unit": "steps/sec",
                    "degradation_pct_max": 0.2,
                    "variance_pct_warn": 0.05,
                    "notes": "n",
                    "owner": "team-vm",
                },
                "da.encode_MBps": {"value": 520.4, "unit": "MB/sec"},
            }
        ),
    )
    b = load_baselines(p)
    assert b["vm.steps_per_sec"].degradation_pct_max == 0.2
    assert b["da.encode_MBps"].degradation_pct_max == 0.15
    assert b["da.encode_MBps"].variance_pct_warn == 0.05
    assert b["vm.steps_per_sec"].raw["owner"] == "team-vm"
    assert list(b) == ["vm.steps_per_sec", "da.encode_MBps"]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not valid JSON (line 1"),
        ("[1, 2]", "must be a JSON object"),
        ('{"a.b": 5}', "a.b: entry must be an object"),
        ('{"ab": {"value": 1, "unit": "s"}}', "ab: key must have the form"),
        ('{"a.b": {"unit": "s"}}', "a.b: missing 'value'"),
        ('{"a.b": {"value": 0, "unit": "s"}}', "a.b: 'value' must be a positive finite number"),
        ('{"a.b": {"value": -3, "unit": "s"}}', "positive finite"),
        ('{"a.b": {"value": "12", "unit": "s"}}', "positive finite"),
        ('{"a.b": {"value": true, "unit": "s"}}', "positive finite"),
        ('{"a.b": {"value": 1e999, "unit": "s"}}', "1e999 is out of range"),
        ('{"a.b": {"value": 1}}', "a.b: missing 'unit'"),
        ('{"a.b": {"value": 1, "unit": ""}}', "'unit' must be a non-empty string"),
        ('{"a.b": {"value": 1, "unit": "s", "degradation_pct_max": 15}}', "fraction in (0, 1)"),
        ('{"a.b": {"value": 1, "unit": "s", "variance_pct_warn": 0}}', "fraction in (0, 1)"),
        (
            '{"a.b": {"value": 1, "unit": "s", "variance_pct_warn": 0.3}}',
            "is above degradation_pct_max",
        ),
        ('{"a.b": {"value": 1, "unit": "s", "higher_is_better": "yes"}}', "true or false"),
        ('{"a.b": {"value": 1, "unit": "s"}, "a.b": {"value": 2, "unit": "s"}}', "duplicate key"),
        ('{"a.b": {"value": 1, "unit": "s", "values": []}}', "'values'"),
        ('{"a.b": {"value": 1, "unit": "s", "values": [1, 0]}}', "positive finite numbers"),
        ('{"a.b": {"value": 1, "unit": "s", "values": "1,2"}}', "'values'"),
        ('{"a.b": {"value": 1, "unit": "s", "values": [1, true]}}', "'values'"),
        ('{"a.b": {"value": 1, "unit": "s", "measured_commit": "main"}}', "'measured_commit'"),
        ('{"a.b": {"value": 1, "unit": "s", "measured_commit": 123456789}}', "git commit id"),
        ('{"a.b": {"value": 1, "unit": "s", "measured_commit": "abc"}}', "7-64 hex"),
    ],
)
def test_bad_baselines(tmp_path: Path, content: str, fragment: str) -> None:
    p = _write(tmp_path, content)
    with pytest.raises(BenchgateError) as err:
        load_baselines(p)
    msg = str(err.value)
    assert fragment in msg
    assert msg.startswith(str(p))
    assert "\n" not in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BenchgateError, match="not found"):
        load_baselines(tmp_path / "nope.json")


def test_values_and_measured_commit_are_read(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        '{"a.b": {"value": 2, "unit": "s", "values": [1, 2, 3], '
        '"measured_commit": "0123456789abcdef0123456789abcdef01234567"}}',
    )
    b = load_baselines(p)["a.b"]
    assert b.raw["values"] == [1, 2, 3]
    assert b.raw["measured_commit"] == "0123456789abcdef0123456789abcdef01234567"
