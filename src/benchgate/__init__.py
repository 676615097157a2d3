"""benchgate: keep a project's performance from silently regressing.

Data flows one way: run -> samples (out-dir) -> reduce -> compare -> verdicts ->
report / gate; refresh reads reduced samples and writes baselines.json.
"""

__version__ = "0.1.0"

# The bench-writing API (stdlib only, so importing the package stays light).
from benchgate.bench import bench  # noqa: E402

__all__ = ["__version__", "bench"]
