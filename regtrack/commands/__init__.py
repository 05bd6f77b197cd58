"""One module per ``regtrack`` subcommand; see :mod:`regtrack.cli`."""
