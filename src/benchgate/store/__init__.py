"""The results store: every run over commits (SQLite by default, PostgreSQL for a fleet)."""
