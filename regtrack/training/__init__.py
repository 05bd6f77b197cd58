"""Training regtrack's networks (UDT: :mod:`regtrack.training.udt`)."""
