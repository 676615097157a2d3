"""Project scaffolding: init, CI templates, artifact collection and the bundled demo."""
