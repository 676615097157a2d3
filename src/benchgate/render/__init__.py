"""Rendering: every output format (text, markdown, JSON, JUnit, GitHub) and its escaping."""
