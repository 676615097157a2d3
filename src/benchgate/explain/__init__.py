"""``benchgate explain``: why a bench got slower, function by function (docs/explain.md)."""
