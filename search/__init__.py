"""How trials are run and reported: the CLI, the tuner, the report."""
