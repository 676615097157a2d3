"""Format-preserving editing of baselines.json: only the spans that change are replaced.

A small scanner records the span of each top-level entry and of each of its fields
(positions from ``json.JSONDecoder.raw_decode``); an edit replaces just those spans.
Untouched keys stay byte-identical, key order and formatting are kept, and new keys
are appended in the file's own style, so a refresh diff shows only what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

_WS = " \t\n\r"
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


@dataclass
class _Member:
    """One ``"key": value`` pair of a JSON object, by positions in the text."""

    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int


@dataclass
class _Object:
    """A JSON object's span (``{`` to after ``}``) and its members."""

    start: int
    end: int
    members: list[_Member]


def _scan_object(text: str, i: int) -> _Object:
    """Scan the object starting at ``text[i] == '{'``; values are skipped with raw_decode."""
    if i >= len(text) or text[i] != "{":
        raise ValueError(f"expected '{{' at offset {i}")
    j = _skip_ws(text, i + 1)
    members: list[_Member] = []
    if j < len(text) and text[j] == "}":
        return _Object(i, j + 1, members)
    while True:
        key, key_end = _DECODER.raw_decode(text, j)
        if not isinstance(key, str):
            raise ValueError(f"expected a key at offset {j}")
        colon = _skip_ws(text, key_end)
        if text[colon] != ":":
            raise ValueError(f"expected ':' at offset {colon}")
        v = _skip_ws(text, colon + 1)
        _, v_end = _DECODER.raw_decode(text, v)
        members.append(_Member(key, j, key_end, v, v_end))
        n = _skip_ws(text, v_end)
        if text[n] == ",":
            j = _skip_ws(text, n + 1)
            continue
        if text[n] == "}":
            return _Object(i, n + 1, members)
        raise ValueError(f"expected ',' or '}}' at offset {n}")


@dataclass
class _Style:
    """How members of an object are laid out: after ``{``, between members, before ``}``."""

    inner: str
    between: str
    close: str
    colon: str
    before_comma: str


def _style_of(text: str, obj: _Object) -> _Style:
    ms = obj.members
    first, last = ms[0], ms[-1]
    inner = text[obj.start + 1 : first.key_start]
    colon = text[first.key_end : first.value_start]
    if len(ms) >= 2:
        comma = _skip_ws(text, first.value_end)
        before_comma = text[first.value_end : comma]
        between = text[comma + 1 : ms[1].key_start]
    else:
        before_comma = ""
        between = inner if "\n" in inner else " "
    close = text[last.value_end : obj.end - 1]
    return _Style(inner, between, close, colon, before_comma)


def dumps_json_string(s: str) -> str:
    """A JSON string literal; non-ASCII text is written as is, in UTF-8."""
    # Non-ASCII text (names, arrows, dashes in notes) is written as is, in UTF-8.
    return json.dumps(s, ensure_ascii=False)


class BaselinesEditor:
    """Edits baselines.json text in place: only the spans that change are replaced."""

    def __init__(self, text: str) -> None:
        self.text = text
        start = _skip_ws(text, 0)
        self.root = _scan_object(text, start)
        self.entries: dict[str, _Object] = {}
        for m in self.root.members:
            if text[m.value_start] == "{":
                self.entries[m.key] = _scan_object(text, m.value_start)
        # (start, end, replacement), applied from the end so offsets stay valid.
        self._edits: list[tuple[int, int, str]] = []
        self._new: list[tuple[str, list[tuple[str, str]]]] = []

    def set_field(self, key: str, name: str, json_text: str, after: str | None = None) -> None:
        """Set field ``name`` of entry ``key`` to ``json_text``.

        An absent field is inserted right after field ``after`` when the entry has it
        (so the diff touches no other line: the anchor keeps its comma), else at the end.
        """
        obj = self.entries[key]
        for m in obj.members:
            if m.key == name:
                self._edits.append((m.value_start, m.value_end, json_text))
                return
        st = _style_of(self.text, obj)
        anchor = next((m for m in obj.members if m.key == after), obj.members[-1])
        insert = f"{st.before_comma},{st.between}{dumps_json_string(name)}{st.colon}{json_text}"
        self._edits.append((anchor.value_end, anchor.value_end, insert))

    def remove_field(self, key: str, name: str) -> None:
        """Remove field ``name`` of entry ``key`` with its separating comma (no-op if absent)."""
        members = self.entries[key].members
        i = next((j for j, m in enumerate(members) if m.key == name), None)
        if i is None or len(members) < 2:
            return
        if i > 0:  # from the end of the previous value: its comma goes with the field
            self._edits.append((members[i - 1].value_end, members[i].value_end, ""))
        else:  # the first field: up to the next field's key
            self._edits.append((members[0].key_start, members[1].key_start, ""))

    def add_entry(self, key: str, fields: list[tuple[str, str]]) -> None:
        """Append a new entry ``key`` with ``(name, json_text)`` fields, in the file's style."""
        if key in self.entries or any(k == key for k, _ in self._new):
            raise ValueError(f"key {key!r} already exists")
        self._new.append((key, fields))

    def _entry_text(self, fields: list[tuple[str, str]], st: _Style) -> str:
        parts = [f"{dumps_json_string(k)}{st.colon}{v}" for k, v in fields]
        return "{" + st.inner + f"{st.before_comma},{st.between}".join(parts) + st.close + "}"

    def render(self) -> str:
        """The edited text."""
        text = self.text
        edits = list(self._edits)
        if self._new:
            edits.append(self._new_entries_edit())
        # From the end backwards, so earlier positions stay valid. At one position a
        # replaced span goes first, then insertions latest-made first: they end up in the
        # order they were made, and none lands inside a span replaced after it.
        order = sorted(
            range(len(edits)),
            key=lambda i: (edits[i][0], edits[i][1] > edits[i][0], i),
            reverse=True,
        )
        for i in order:
            start, end, repl = edits[i]
            text = text[:start] + repl + text[end:]
        return text

    def _new_entries_edit(self) -> tuple[int, int, str]:
        root = self.root
        if not root.members:
            # An empty object ("{}" from `benchgate init`): two-space indentation.
            entry_style = _Style("\n    ", "\n    ", "\n  ", ": ", "")
            body = ",\n  ".join(
                f"{dumps_json_string(k)}: {self._entry_text(f, entry_style)}" for k, f in self._new
            )
            return (root.start, root.end, "{\n  " + body + "\n}")
        top = _style_of(self.text, root)
        # The last entry that is an object shows how this file lays entries out.
        ref = next(
            (self.entries[m.key] for m in reversed(root.members) if m.key in self.entries), None
        )
        entry_style = (
            _style_of(self.text, ref)
            if ref is not None and ref.members
            else _Style("\n    ", "\n    ", "\n  ", ": ", "")
        )
        last = root.members[-1]
        insert = "".join(
            f"{top.before_comma},{top.between}{dumps_json_string(k)}{top.colon}"
            f"{self._entry_text(f, entry_style)}"
            for k, f in self._new
        )
        return (last.value_end, last.value_end, insert)
