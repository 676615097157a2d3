"""The bench-writing API: ``from benchgate import bench``; timing, calibration, metrics."""

from benchgate.bench.api import *  # noqa: F403
from benchgate.bench.api import __all__  # noqa: F401
