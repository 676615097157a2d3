"""Baselines: the baselines.json file, refresh, the reviewer's check, history and rollback."""
