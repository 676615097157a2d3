"""The CI workflow templates (GitHub Actions, GitLab CI), with the project's own paths."""

from __future__ import annotations

import re
from importlib import resources

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.project.scaffold import project_paths

# The paths the templates are written with; ci_template() swaps in the project's own.
TEMPLATE_BASELINES = "tests/bench/baselines.json"
TEMPLATE_OUT_DIR = "tests/reports/bench"

_TEMPLATES = {
    "github": ("github-bench.yml", ".github/workflows/bench.yml"),
    "gitlab": ("gitlab-bench.yml", ".gitlab-ci.bench.yml"),
}


def ci_template(kind: str, config: Config | None = None) -> tuple[str, str]:
    """The CI workflow for ``kind`` (``github`` or ``gitlab``): (destination path, text).

    GitHub: ``.github/workflows/bench.yml``. GitLab: ``.gitlab-ci.bench.yml``, a file to
    ``include:`` from ``.gitlab-ci.yml``. With ``config`` the project's own bench dir,
    out-dir, baselines, report and GATES.md paths (relative to its root) replace the
    defaults the templates are written with.
    """
    try:
        name, dest = _TEMPLATES[kind]
    except KeyError:
        raise BenchgateError(
            f"unknown CI kind {kind!r} (choose from {', '.join(_TEMPLATES)})", key="--ci"
        ) from None
    text = (resources.files("benchgate.project") / "templates" / name).read_text(encoding="utf-8")
    if config is not None:
        defaults = project_paths(Config(root=config.root))
        ours = project_paths(config)
        swaps = {defaults[n]: ours[n] for n in defaults}
        # One pass, longest first: the default bench_dir is a prefix of the default
        # baselines path, and a project's value may contain another default.
        pattern = re.compile("|".join(map(re.escape, sorted(swaps, key=len, reverse=True))))
        text = pattern.sub(lambda m: swaps[m.group(0)], text)
    return dest, text
