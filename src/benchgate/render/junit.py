"""JUnit XML of a comparison: the junit-10.xsd shape Jenkins, GitLab and most CI servers read."""

from __future__ import annotations

import platform
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from datetime import datetime, timezone

from benchgate.model import Comparison, Status, Verdict
from benchgate.render import fmt
from benchgate.render.verdicts import better, describe, failing, limit, notes

# Characters XML 1.0 cannot carry (stderr tails may hold ANSI escapes and the like).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _details(v: Verdict, allow: Collection[Status] | None) -> str:
    """Every number of a verdict, one per line, for ``<system-out>`` and failure bodies."""
    unit = fmt.plain(v.unit) if v.unit else None
    lines = [f"status: {v.status.label}", f"key: {fmt.plain(v.key)}"]
    lines.append(f"baseline: {fmt.with_unit(v.baseline, unit)}")
    lines.append(f"current: {fmt.with_unit(v.current, unit)}")
    if v.delta_pct is not None:
        b = better(v)
        word = "" if b is None else (" (better)" if b else " (worse)")
        lines.append(f"delta: {fmt.pct(v.delta_pct)}{word}")
    if v.higher_is_better is not None:
        lines.append(f"direction: {'higher' if v.higher_is_better else 'lower'} is better")
    if v.degradation_pct_max is not None or v.variance_pct_warn is not None:
        lines.append(
            f"thresholds: warn {limit(v, v.variance_pct_warn) or '-'}, "
            f"fail {limit(v, v.degradation_pct_max) or '-'}"
        )
    if v.n:
        spread = ""
        if v.spread is not None:
            s = v.spread
            spread = (
                f"; min {fmt.num(s.min)}, max {fmt.num(s.max)}, CV {fmt.share(s.cv)}, "
                f"IQR/median {fmt.share(s.iqr_rel)}"
            )
        lines.append(f"runs: {v.n}{spread}")
    qualifiers = notes(v, failing(allow))
    if qualifiers:
        lines.append(f"notes: {'; '.join(qualifiers)}")
    if v.reason and "\n" in v.reason.strip():
        # Quoted and escaped: a tail line must not read as a field (or as a log command).
        lines += ["reason:", *(f"  | {fmt.plain(t)}" for t in v.reason.rstrip().splitlines())]
    return "\n".join(lines)


def _fmt_time(t: float) -> str:
    return f"{max(t, 0.0):.3f}"


def junit_xml(
    comparison: Comparison,
    allow: Collection[Status] | None = None,
    bench_times: Mapping[str, float] | None = None,
    timestamp: str | None = None,
    hostname: str | None = None,
) -> str:
    """The comparison as JUnit XML (the junit-10.xsd shape Jenkins and GitLab read).

    One ``<testsuite name="<bench>">`` per bench and one ``<testcase
    classname="benchgate.<bench>" name="<key>">`` per metric. FAIL, NEW and MISSING are
    ``<failure type=...>``; ERROR is ``<error type="ERROR">`` (the bench could not be
    measured, JUnit's notion of an error); SKIPPED is ``<skipped message=reason>``; a
    status relaxed by ``allow`` passes with a note. Every testcase carries its numbers in
    ``<system-out>`` (WARN included, which passes). ``bench_times`` (seconds per bench)
    fills the suites' ``time``; ``<testsuites>`` carries no ``skipped`` count because the
    schema does not allow one there (each suite has it).
    """
    failing_statuses = failing(allow)
    stamp = timestamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    host = hostname or platform.node() or "localhost"
    times = bench_times or {}
    by_bench: dict[str, list[Verdict]] = {}
    for v in comparison.verdicts:
        by_bench.setdefault(v.bench, []).append(v)

    root = ET.Element("testsuites", name="benchgate")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for i, (bench, verdicts) in enumerate(by_bench.items()):
        suite = ET.SubElement(root, "testsuite", name=_x(bench))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="benchgate.method", value=comparison.method)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for v in verdicts:
            case = ET.SubElement(
                suite, "testcase", name=_x(v.key), classname=_x(f"benchgate.{bench}"), time="0.000"
            )
            counts["tests"] += 1
            message = _x(describe(v, allow))
            body = _x(_details(v, allow))
            if v.status in failing_statuses and not v.added_with_baseline:
                tag = "error" if v.status is Status.ERROR else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                el = ET.SubElement(case, tag, message=message, type=v.status.label)
                el.text = body
            elif v.status is Status.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_x(fmt.first_line(v.reason) or "skipped"))
            out = ET.SubElement(case, "system-out")
            out.text = body
        t = float(times.get(bench, 0.0))
        total_time += t
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", _fmt_time(t))
        suite.set("timestamp", stamp)
        suite.set("hostname", _x(host))
        suite.set("id", str(i))
        suite.set("package", "benchgate")
        # Environment notes qualify every suite's numbers; the schema has no root-level text.
        sys_out = ET.SubElement(suite, "system-out")
        sys_out.text = _x("\n".join(f"environment: {fmt.plain(w)}" for w in comparison.warnings))
        ET.SubElement(suite, "system-err").text = ""
        for k in totals:
            totals[k] += counts[k]
    for k, n in totals.items():
        root.set(k, str(n))
    root.set("time", _fmt_time(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
