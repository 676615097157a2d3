"""Judging: statistics, reduction to one value per metric, verdicts, intervals, confirming."""
