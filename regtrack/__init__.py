"""regtrack: single-object visual tracking by deep regression and correlation filters.

A tracker is ``init(image, box)`` then ``update(image) -> box`` (got10k-toolkit's interface).
Images are ``H x W x 3`` uint8 RGB arrays; boxes are ``[x, y, w, h]`` in OTB's 1-based pixel
convention (see :mod:`regtrack.core.box`).
"""

from regtrack.errors import RegtrackError
from regtrack.trackers.base import Tracker, available_trackers, create_tracker

__version__ = "0.1.0"
__all__ = ["RegtrackError", "Tracker", "available_trackers", "create_tracker", "__version__"]
