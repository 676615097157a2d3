"""benchgate: keep a project's performance from silently regressing.

Data flows one way: run -> samples (out-dir) -> reduce -> compare -> verdicts ->
report / gate; refresh reads reduced samples and writes baselines.json.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
