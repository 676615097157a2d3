"""Text, markdown and JSON forms of an explanation, and the block ``ab --explain`` adds."""

from __future__ import annotations

import json
from collections.abc import Sequence

from benchgate.explain.diff import Diff, Row
from benchgate.explain.profiles import OPERATION
from benchgate.explain.run import Explanation
from benchgate.render.fmt import md_code, md_text, plain, table

HEADERS = ["FUNCTION", "FILE:LINE", "BASE", "HEAD", "CHANGE", "SHARE"]


def fmt_cost(value: float, unit: str, signed: bool = False) -> str:
    """A cost per call: seconds with a readable unit, instructions with separators."""
    sign = "+" if signed and value > 0 else ""
    if unit == "s":
        a = abs(value)
        for u, s in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
            if a >= s:
                return f"{sign}{value / s:.3g} {u}"
        return f"{sign}{value * 1e9:.3g} ns"
    return f"{sign}{value:,.0f}"


def _share(r: Row) -> str:
    return f"{r.share:+.1%}" if r.share is not None else "-"


def _cells(r: Row, unit: str) -> list[str]:
    return [
        r.name,
        r.where,
        fmt_cost(r.base, unit),
        fmt_cost(r.head, unit),
        fmt_cost(r.change, unit, signed=True),
        _share(r),
    ]


def _unit_text(unit: str) -> str:
    return "seconds" if unit == "s" else unit


def header_lines(e: Explanation) -> list[str]:
    """What was profiled and the totals, one line each."""
    what = (
        f"{e.calls} calls of the measured operation (setup excluded)"
        if e.scope == OPERATION
        else "the whole process (not written with benchgate.bench)"
    )
    d = e.diff
    ratio = f", head/base {d.ratio:.4f}" if d.ratio is not None else ""
    return [
        f"benchgate explain {e.key}: {e.measure}, base {e.base_rev} ({e.base_commit[:12]}) "
        "vs working tree",
        f"profiled: {what}; total per call {fmt_cost(d.base_total, d.unit)} -> "
        f"{fmt_cost(d.head_total, d.unit)} {'' if d.unit == 's' else d.unit}".rstrip()
        + f" ({fmt_cost(d.total_change, d.unit, True)}{ratio})",
    ]


def _table_text(rows: list[list[str]]) -> list[str]:
    return table(HEADERS, rows)


def md_code_inline(text: str) -> str:
    """A path as inline code outside a table."""
    return md_code(text, table=False)


def _section_text(title: str, diff: Diff, top: int) -> list[str]:
    out: list[str] = []
    for label, rows in (("grew", diff.grown(top)), ("shrank", diff.shrunk(top))):
        out.append(f"{title} that {label} most ({_unit_text(diff.unit)} per call):")
        if rows:
            out += ["  " + ln for ln in _table_text([_cells(r, diff.unit) for r in rows])]
        else:
            out.append("  none")
    return out


def render_text(e: Explanation, top: int = 10) -> str:
    """The explanation as aligned text tables."""
    lines = [plain(x) for x in header_lines(e)]
    lines += [f"! {plain(n)}" for n in e.notes]
    lines.append("")
    lines += _section_text("Python functions", e.diff, top)
    if e.native is not None:
        lines.append("")
        lines += _section_text("C functions (callgrind, exact)", e.native, top)
    lines.append("")
    lines.append(f"flame graph: {plain(e.flame_path)}")
    lines.append(f"profiles: {plain(e.out_dir)}/ ({e.seconds:.1f}s)")
    return "\n".join(lines) + "\n"


def _table_md(rows: list[Row], unit: str) -> list[str]:
    out = ["| function | file:line | base | head | change | share |"]
    out.append("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        c = _cells(r, unit)
        out.append("| " + " | ".join(md_text(x) for x in c) + " |")
    return out


def render_markdown(e: Explanation, top: int = 10) -> str:
    """The explanation as markdown (a PR comment or a step summary)."""
    head = header_lines(e)
    lines = [f"### {md_text(head[0])}", "", md_text(head[1]), ""]
    lines += [f"> {md_text(n)}" for n in e.notes]
    if e.notes:
        lines.append("")
    sections = [("Python functions", e.diff)]
    if e.native is not None:
        sections.append(("C functions (callgrind, exact)", e.native))
    for title, diff in sections:
        for label, rows in (("grew", diff.grown(top)), ("shrank", diff.shrunk(top))):
            lines.append(f"**{title} that {label} most** ({_unit_text(diff.unit)} per call)")
            lines.append("")
            lines += _table_md(rows, diff.unit) if rows else ["none"]
            lines.append("")
    lines.append(f"flame graph: {md_code_inline(str(e.flame_path))}")
    return "\n".join(lines) + "\n"


def render_json(e: Explanation, top: int = 10) -> str:
    """The explanation as JSON (``top`` grown and shrunk functions each)."""
    return json.dumps(e.to_dict(top), indent=2) + "\n"


# --- the block `ab --explain` adds below the verdict table ---------------------------------


def ab_block_markdown(
    explained: Sequence[tuple[str, Explanation | None, str | None]], top: int = 5
) -> str:
    """For each (status, explanation or None, error): the top grown functions, markdown."""
    if not explained:
        return ""
    lines = ["", "#### Why it got slower (benchgate explain)", ""]
    for status, e, error in explained:
        if e is None:
            lines.append(f"- {md_text(status)}: {md_text(error or 'no explanation')}")
            lines.append("")
            continue
        lines.append(
            f"**{md_text(status)}** {md_code_inline(e.key)}: {e.measure} per call "
            f"{fmt_cost(e.diff.base_total, e.diff.unit)} -> "
            f"{fmt_cost(e.diff.head_total, e.diff.unit)}"
            + (" (whole process)" if e.scope != OPERATION else "")
        )
        lines.append("")
        grown = e.diff.grown(top)
        lines += _table_md(grown, e.diff.unit) if grown else ["no function grew"]
        lines.append("")
        lines.append(
            "flame graph and profiles: "
            + md_code_inline(f"{e.shown_dir or str(e.out_dir) + '/'}flame.html")
            + " (in the CI artifact: "
            + md_code_inline(f"{e.artifact_dir}flame.html")
            + ")"
        )
        lines.append("")
    return "\n".join(lines)


def ab_block_text(
    explained: Sequence[tuple[str, Explanation | None, str | None]], top: int = 5
) -> str:
    """The same block as text."""
    if not explained:
        return ""
    lines = ["", "why it got slower (benchgate explain):"]
    for status, e, error in explained:
        if e is None:
            lines.append(f"  {plain(status)}: {plain(error or 'no explanation')}")
            continue
        lines.append(
            f"  {plain(status)} {plain(e.key)}: {e.measure} per call "
            f"{fmt_cost(e.diff.base_total, e.diff.unit)}"
            f" -> {fmt_cost(e.diff.head_total, e.diff.unit)}"
        )
        grown = e.diff.grown(top)
        if grown:
            lines += ["    " + ln for ln in _table_text([_cells(r, e.diff.unit) for r in grown])]
        lines.append(
            f"    flame graph and profiles: {plain(e.shown_dir or str(e.out_dir) + '/')}flame.html "
            f"(in the CI artifact: {plain(e.artifact_dir)}flame.html)"
        )
    return "\n".join(lines) + "\n"
