"""Trackers, one module per paper, all on the shared core. See :mod:`regtrack.trackers.base`."""
