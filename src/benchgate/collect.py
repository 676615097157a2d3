"""Public name of :mod:`benchgate.project.collect` (CI artifacts), kept as documented.

The alias is the same module object, so ``benchgate.collect.X`` and
``benchgate.project.collect.X`` can never differ.
"""

import sys

from benchgate.project import collect as _impl

sys.modules[__name__] = _impl
