"""The CI outputs under their documented public name (``benchgate.ci``).

They live by concern in :mod:`benchgate.render.github` (annotations, PR comment, step
summary), :mod:`benchgate.render.junit` and :mod:`benchgate.project.ci_workflow` (the
workflow templates); this module re-exports them, so ``benchgate.ci.X`` is the same
object as the one in its home module.
"""

from benchgate.project.ci_workflow import TEMPLATE_BASELINES, TEMPLATE_OUT_DIR, ci_template
from benchgate.render.github import (
    ATTENTION,
    STATUS_ICON,
    escape_data,
    escape_property,
    format_markdown,
    github_annotations,
    step_summary,
    verdict_line,
    write_step_summary,
)
from benchgate.render.junit import junit_xml
from benchgate.render.verdicts import counts_summary, describe

__all__ = [
    "ATTENTION",
    "STATUS_ICON",
    "TEMPLATE_BASELINES",
    "TEMPLATE_OUT_DIR",
    "ci_template",
    "counts_summary",
    "describe",
    "escape_data",
    "escape_property",
    "format_markdown",
    "github_annotations",
    "junit_xml",
    "step_summary",
    "verdict_line",
    "write_step_summary",
]
