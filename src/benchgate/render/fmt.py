"""Formatting and escaping shared by every output: one function per kind of text.

Numbers, percentages, CPU lists and intervals are written here once, so the same value
reads the same in the text table, the markdown tables, the PR comment and body,
report.md, JUnit and the annotations. Every string that comes from outside benchgate
(a metric key, a unit, a bench's stderr, an environment variable) goes through one of
the escaping functions before it reaches an output:

- :func:`plain` for plain-text lines (terminal, CI logs): control characters, newlines
  included, are shown as escapes, so a key cannot start a line of its own (GitHub Actions
  executes a log line that starts with ``::``);
- :func:`md_text` / :func:`md_cell` for markdown: one line, ``|`` escaped and ``<`` as an
  entity, so no HTML (``<!--``, ``</details>``, ``<img>``) gets through;
- :func:`md_code` for a key shown as inline code;
- :func:`fence` for a block (a stderr tail): its fence is longer than any run of
  backticks inside, so the text cannot close it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from benchgate.machine.cpus import format_cpus
from benchgate.model import Interval

# --- numbers -------------------------------------------------------------------------


def num(x: float | None) -> str:
    """A measured value for people: ``-`` when absent, thousands separators, no exponent.

    At least 4 significant digits: integral digits are never rounded away (``1091640.3``
    -> ``1,091,640``), smaller values get decimals (``489.93`` -> ``489.9``, ``0.0041234``
    -> ``0.004123``), tiny ones an exponent (``1.235e-05``). Deltas are computed from the
    exact values; only the display is rounded.
    """
    if x is None:
        return "-"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    mag = math.floor(math.log10(abs(x)))
    if mag >= 15:  # a 75-digit number (an informational one) would stretch every table
        return f"{x:.3e}"
    if mag >= 4:
        return f"{x:,.0f}"
    if mag >= -3:
        return f"{x:,.{max(0, 3 - mag)}f}"
    return f"{x:.3e}"


def with_unit(x: float | None, unit: str | None) -> str:
    """``1,091,640 steps/sec``; the number alone when there is no unit or no value."""
    return f"{num(x)} {unit}" if unit and x is not None else num(x)


def any_value(v: Any) -> str:
    """A value read from a file that may not be a number: numbers as :func:`num`, else JSON."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return num(float(v))
    if v is None:
        return "-"
    return json.dumps(v, ensure_ascii=False)


def info_value(v: Any, limit: int = 40) -> str:
    """An informational metric's value for a table: numbers as :func:`num`, anything else
    (text, ``inf``, a list) as one line clipped to ``limit`` characters."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return num(float(v))
        except OverflowError:  # an int beyond a float
            pass
    text = plain(str(v))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Significant digits of a value written into baselines.json: finer than any spread a
# benchmark has (0.001%), yet short enough for a readable diff.
STORED_DIGITS = 6


def stored_value(x: float, digits: int = STORED_DIGITS) -> str:
    """The JSON text of a value to store: ``digits`` significant digits, integral as int.

    ``1318273.4`` -> ``1318270``; ``520.41234`` -> ``520.412``; ``0.000123456789`` ->
    ``0.000123457``. ValueError for NaN and infinities (JSON cannot carry them).
    """
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x}")
    if x == 0:
        return "0"
    r = float(f"{x:.{digits}g}")
    if r.is_integer() and abs(r) < 1e21:
        return str(int(r))
    return repr(r)


def pct(x: float | None, signed: bool = True) -> str:
    """A percentage with one decimal (``+3.2%``, or ``3.2%`` unsigned), ``-`` when absent."""
    if x is None:
        return "-"
    return f"{x:+.1f}%" if signed else f"{x:.1f}%"


def share(fraction: float | None, signed: bool = False) -> str:
    """A fraction as a percentage: ``0.052`` -> ``5.2%`` (the spread and threshold form)."""
    return pct(None if fraction is None else fraction * 100, signed)


def ratio_pct(ratio: float) -> str:
    """The change a ratio new/old stands for: ``1.052`` -> ``+5.2%``."""
    return pct((ratio - 1) * 100)


def level(iv: Interval) -> str:
    """An interval's confidence level in whole percent: an exact order-statistic interval's
    96.8254% reads ``97%``, as in every other output."""
    return f"{iv.level * 100:.0f}%"


def interval(iv: Interval | None) -> str | None:
    """A ratio interval as the change it allows: ``95% CI -1.0%..+2.0%`` (None if absent)."""
    if iv is None:
        return None
    return f"{level(iv)} CI {ratio_pct(iv.low)}..{ratio_pct(iv.high)}"


def ratio_interval(iv: Interval | None) -> str:
    """A ratio interval as ratios: ``0.990..1.010 (95%)`` (``-`` if absent)."""
    if iv is None:
        return "-"
    return f"{iv.low:.3f}..{iv.high:.3f} ({level(iv)})"


def cpus(value: Any) -> str:
    """The CPUs a run used, the kernel's way: ``[2, 3, 4, 7]`` -> ``2-4,7``; else ``all``.

    The one text of a CPU list in every output (:func:`benchgate.machine.cpus.format_cpus`
    does the ranges). Not a list (``"all"``, None, an empty list) means all CPUs.
    """
    if not isinstance(value, list) or not value:
        return "all"
    try:
        return format_cpus(int(c) for c in value)
    except (TypeError, ValueError):
        return ",".join(plain(str(c)) for c in value)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


# --- plain text ----------------------------------------------------------------------

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: each can start
# a new line or rewrite one in a terminal or a CI log. Lone surrogates too: they cannot be
# encoded, so printing or writing one would fail.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_control(m: re.Match[str]) -> str:
    c = m.group(0)
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def plain(text: object) -> str:
    """Text made safe inside one plain-text line: every control character shown as an escape.

    ``"k\\n::add-mask::x"`` -> ``"k\\\\n::add-mask::x"``: still readable, never a line of its
    own. Use it for every outside string (key, unit, reason, warning) in a text output.
    """
    return _CONTROL.sub(_escape_control, str(text))


def first_line(text: str | None, limit: int = 200) -> str:
    """The first non-empty line of ``text``, stripped and shortened (reasons can be tails)."""
    if not text:
        return ""
    for line in re.split("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text):
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def table(headers: list[str], rows: Iterable[list[str]]) -> list[str]:
    """An aligned plain-text table (columns padded, trailing blanks cut); cells escaped."""
    body = [[plain(c) for c in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*headers).rstrip(), *(line.format(*r).rstrip() for r in body)]


# --- markdown -------------------------------------------------------------------------


def md_text(text: object) -> str:
    """Text made safe inline in markdown: one line, no raw HTML, pipes escaped.

    Whitespace runs (newlines included) become one space, other control characters are
    dropped, ``<`` becomes ``&lt;`` (so ``<!--``, ``</details>`` and ``<img>`` show as
    text: no tag or comment can open without it), ``|`` is escaped (it would split a
    table row). ``>`` and ``&`` stay: without ``<`` neither can start HTML.
    """
    s = " ".join(_CONTROL.sub(" ", str(text)).split())
    return s.replace("<", "&lt;").replace("|", "\\|")


md_cell = md_text  # a table cell needs exactly the inline rules


def md_code(text: object, table: bool = True) -> str:
    """A key as inline code: one line; a backtick (it would end the span) becomes ``'``.

    Inside a code span HTML is not interpreted. In a table (``table``) ``|`` is escaped,
    because GitHub splits rows on it even inside code; elsewhere it is harmless.
    """
    s = " ".join(_CONTROL.sub(" ", str(text)).split()).replace("`", "'")
    return "`" + (s.replace("|", "\\|") if table else s) + "`"


def fence(text: str, info: str = "", indent: str = "") -> list[str]:
    """``text`` as a fenced code block whose fence no line of ``text`` can close.

    The fence is one backtick longer than the longest run of backticks inside (3 at
    least); control characters other than newline and tab are shown as escapes.
    """
    longest = max((len(r) for r in re.findall("`+", text)), default=0)
    bar = "`" * max(3, longest + 1)
    body = [
        indent + _CONTROL.sub(_escape_control, line.replace("\t", "    "))
        for line in text.splitlines()
    ]
    return [f"{indent}{bar}{info}", *body, f"{indent}{bar}"]
