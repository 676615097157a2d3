"""The differential flame graph: one self-contained HTML page, no script, opens offline.

An icicle of the head profile (the root, the profiled calls of the operation, at the top;
each function's callees below it, as wide as their inclusive cost), every box coloured by
how much that function's own cost changed against the base: red grew, blue shrank, grey
unchanged, the deeper the colour the larger the change as a share of the total change.
cProfile keeps caller -> callee edges, not whole stacks, so a function called from
several places is drawn under each caller with that caller's share of its cost. Hovering a
box shows its name, file:line, head cost and change. Every name is HTML-escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from benchgate.explain.diff import Diff
from benchgate.explain.profiles import Profile, root_function

# Boxes narrower than this share of the root are not drawn (unreadable anyway).
MIN_SHARE = 0.002
MAX_DEPTH = 40
ROW_PX = 20


@dataclass
class Node:
    """One box of the icicle: a function under one call path."""

    key: str
    value: float
    children: list[Node] = field(default_factory=list)


def build_tree(prof: Profile) -> Node | None:
    """The call tree of ``prof`` from its root, widths from the caller -> callee edges."""
    root = root_function(prof)
    if root is None:
        return None
    children: dict[str, list[tuple[str, float]]] = {}
    for (a, b), v in prof.edges.items():
        if a != b:
            children.setdefault(a, []).append((b, v))
    top = Node(root, prof.functions[root].total_cost)
    limit = top.value * MIN_SHARE

    def grow(node: Node, path: set[str], depth: int) -> None:
        if depth >= MAX_DEPTH:
            return
        own_total = prof.functions[node.key].total_cost
        # The edge values are the callee's cost from this function over all its calls;
        # under one path only this node's part of the function's total is drawn.
        k = node.value / own_total if own_total > 0 else 0.0
        for child, v in sorted(children.get(node.key, []), key=lambda c: (-c[1], c[0])):
            width = v * k
            if child in path or width < limit or child not in prof.functions:
                continue
            sub = Node(child, width)
            node.children.append(sub)
            grow(sub, path | {child}, depth + 1)

    grow(top, {root}, 0)
    return top


def _colour(change: float, scale: float) -> str:
    if scale <= 0 or change == 0:
        return "hsl(0,0%,82%)"
    x = min(abs(change) / scale, 1.0)
    hue = 0 if change > 0 else 215
    return f"hsl({hue},{int(35 + 55 * x)}%,{int(85 - 35 * x)}%)"


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        for u, s in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
            if abs(value) >= s:
                return f"{value / s:.3g} {u}"
        return f"{value * 1e9:.3g} ns"
    return f"{value:,.0f} {unit}"


def flame_html(title: str, diff: Diff, head: Profile, notes: list[str]) -> str:
    """The page: the icicle of ``head`` coloured by ``diff``, and the table of changes."""
    tree = build_tree(head)
    rows = {r.key: r for r in diff.rows}
    scale = max((abs(r.change) for r in diff.rows), default=0.0)
    boxes: list[str] = []
    depth_max = 0
    if tree is not None and tree.value > 0:
        total = tree.value

        def draw(node: Node, x: float, depth: int) -> None:
            nonlocal depth_max
            depth_max = max(depth_max, depth)
            f = head.functions[node.key]
            r = rows.get(node.key)
            change = r.change if r is not None else 0.0
            share = f" ({r.share:+.0%} of the change)" if r is not None and r.share else ""
            tip = (
                f"{f.name} {f.where}\nhead inclusive (this path): {_fmt(node.value, head.unit)}"
                f"\nself change: {_fmt(change, head.unit)}{share}"
            )
            left, width = 100 * x / total, 100 * node.value / total
            boxes.append(
                f'<div class="b" style="left:{left:.4f}%;width:{width:.4f}%;'
                f'top:{depth * ROW_PX}px;background:{_colour(change, scale)}" '
                f'title="{html.escape(tip)}">{html.escape(f.name)}</div>'
            )
            cx = x
            for c in node.children:
                draw(c, cx, depth + 1)
                cx += c.value

        draw(tree, 0.0, 0)
    table = []
    for r in [*diff.grown(15), *diff.shrunk(5)]:
        share = f"{r.share:+.1%}" if r.share is not None else "-"
        table.append(
            "<tr>"
            f"<td>{html.escape(r.name)}</td><td>{html.escape(r.where)}</td>"
            f"<td>{_fmt(r.base, diff.unit)}</td><td>{_fmt(r.head, diff.unit)}</td>"
            f"<td>{_fmt(r.change, diff.unit)}</td><td>{share}</td></tr>"
        )
    ratio = f"{diff.ratio:.4f}" if diff.ratio is not None else "-"
    note_html = "".join(f"<p class=n>{html.escape(n)}</p>" for n in notes)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font:13px sans-serif;margin:16px}"
        ".g{position:relative;width:100%;overflow:hidden;border:1px solid #ccc}"
        ".b{position:absolute;height:18px;line-height:18px;overflow:hidden;white-space:nowrap;"
        "font-size:11px;box-sizing:border-box;border:1px solid #fff;padding-left:2px}"
        "table{border-collapse:collapse;margin-top:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}td:first-child,td:nth-child(2){text-align:left}"
        ".n{color:#555}</style></head><body>"
        f"<h2>{html.escape(title)}</h2>"
        f"<p>total per call: base {_fmt(diff.base_total, diff.unit)}, head "
        f"{_fmt(diff.head_total, diff.unit)}, head/base {ratio}. Boxes: the head profile "
        "(width = inclusive cost), coloured by the change of each function's own cost: "
        "red grew, blue shrank.</p>"
        f"{note_html}"
        f'<div class="g" style="height:{(depth_max + 1) * ROW_PX + 2}px">{"".join(boxes)}</div>'
        "<table><tr><th>function</th><th>file:line</th><th>base</th><th>head</th>"
        f"<th>change</th><th>share</th></tr>{''.join(table)}</table>"
        "</body></html>\n"
    )


def speedscope(profiles: dict[str, Profile], name: str) -> dict[str, Any]:
    """The profiles (``{"base": ..., "head": ...}``) as one speedscope file (sampled form).

    Each call path of :func:`build_tree` becomes one weighted sample: the path's frames
    and the cost spent in its last function itself. Open it at https://www.speedscope.app
    (or with the speedscope CLI, offline) and switch between the two profiles.
    """
    frames: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    out = []
    for side, prof in profiles.items():
        tree = build_tree(prof)
        samples: list[list[int]] = []
        weights: list[float] = []

        def walk(
            node: Node,
            stack: list[int],
            prof: Profile = prof,
            samples: list[list[int]] = samples,
            weights: list[float] = weights,
        ) -> None:
            if node.key not in index:
                f = prof.functions[node.key]
                index[node.key] = len(frames)
                frames.append({"name": f.name, "file": f.file, "line": f.line})
            path = [*stack, index[node.key]]
            own = node.value - sum(c.value for c in node.children)
            if own > 0:
                samples.append(path)
                weights.append(own)
            for c in node.children:
                walk(c, path, prof, samples, weights)

        if tree is not None:
            walk(tree, [])
        out.append(
            {
                "type": "sampled",
                "name": side,
                "unit": "seconds" if prof.unit == "s" else "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        )
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "name": name,
        "exporter": "benchgate",
        "activeProfileIndex": len(out) - 1,
        "shared": {"frames": frames},
        "profiles": out,
    }
