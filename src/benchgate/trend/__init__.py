"""History read back: change points and creep per metric (``trend``) and the static dashboard.

The input is the store's :class:`~benchgate.store.series.Series`; nothing here reads the
store's tables, so the detector and the site are tested on series built in memory.
"""
