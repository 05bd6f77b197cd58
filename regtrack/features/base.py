"""The feature interface every tracker consumes.

A :class:`Feature` maps an RGB uint8 patch ``h x w x 3`` (or a batch ``N x h x w x 3``) to a
float32 map ``C x h/cell x w/cell`` (``N x C x ...``). ``cell_size`` is the stride in patch
pixels, ``channels`` the number of output maps. Deep backbones (which give several named maps)
implement :class:`Backbone` and are wrapped as a Feature by choosing one layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Feature(ABC):
    """A patch -> ``C x H x W`` feature map at stride ``cell_size``."""

    cell_size: int = 1
    channels: int = 1

    @abstractmethod
    def __call__(self, patch: np.ndarray) -> np.ndarray:
        """``patch``: ``h x w x 3`` uint8 RGB (or ``N x h x w x 3``). Returns float32
        ``C x (h // cell) x (w // cell)`` (or with a leading ``N``)."""
