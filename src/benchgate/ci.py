"""Public name of :mod:`benchgate.render.ci` (the CI outputs), kept as documented.

The alias is the same module object, so ``benchgate.ci.X`` and ``benchgate.render.ci.X``
can never differ.
"""

import sys

from benchgate.render import ci as _impl

sys.modules[__name__] = _impl
