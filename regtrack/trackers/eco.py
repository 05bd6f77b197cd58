"""ECO-HC and UDT+ on regtrack's ECO framework (:mod:`regtrack.core.eco`).

* ``eco_hc``: ECO with hand-crafted features (Danelljan et al., CVPR 2017): fHOG at 6-px cells
  projected to 10 channels and colour names at 4-px cells projected to 3, with the settings of the
  authors' ``runfiles/testing_ECO_HC.m`` (pyECO's ``otb_hc_config.py`` agrees).
* ``udtplus``: UDT+ (Wang et al., CVPR 2019): the UDT net's output (its 4th layer, the LRN),
  average-pooled over 4 x 4 pixels, projected from 32 to 32 channels, with the settings of the
  authors' ``tracker/UDT+/runfiles/testing_ECO.m`` (reference.md sec. 1.5). regtrack's own UDT
  weights by default; ``weights=.../UDT_Unsupervised.mat`` for the authors'.

``features`` lists the feature blocks (``udt``, ``fhog``, ``cn``; e.g. ``features=udt,fhog,cn``),
each at its own cell size and projection; the colour-names table is ``colornames`` or
``$REGTRACK_COLORNAMES``.

Boxes in and out are OTB ``[x, y, w, h]`` (1-based).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from regtrack.core.box import center_to_otb, otb_to_center
from regtrack.core.eco.model import ECO, ECOSettings, FeatureBlock
from regtrack.errors import RegtrackError
from regtrack.features.handcrafted import ColorNames, FHog
from regtrack.trackers.base import Tracker, hyper, register_tracker


@dataclasses.dataclass
class ECOHCParams:
    """ECO-HC's settings (``testing_ECO_HC.m``); the UDT block's for other feature sets."""

    features: str = hyper("fhog,cn", doc="feature blocks, comma-separated: udt, fhog, cn")
    hog_cell_size: int = hyper(6, ge=1, doc="fHOG cell size, pixels")
    hog_compressed_dim: int = hyper(10, ge=1, le=31, doc="fHOG channels after projection")
    cn_cell_size: int = hyper(4, ge=1, doc="colour-names cell size, pixels")
    cn_compressed_dim: int = hyper(3, ge=1, le=10, doc="colour-names channels after projection")
    colornames: str | None = hyper(None, doc="w2crs.mat colour-names table (default $REGTRACK_COLORNAMES)")
    weights: str | None = hyper(None, doc="UDT weights (default: regtrack's own)")
    udt_cell_size: int = hyper(4, ge=1, doc="UDT features averaged over this many pixels (downsample_factor)")
    udt_compressed_dim: int = hyper(32, ge=1, le=32, doc="UDT channels after projection")
    search_area_scale: float = hyper(4.0, gt=1, doc="search area = this x target (square)")
    min_sample_size: float = hyper(150.0**2, gt=0, doc="smallest sample area, pixels^2")
    max_sample_size: float = hyper(200.0**2, gt=0, doc="largest sample area, pixels^2")
    output_sigma_factor: float = hyper(1.0 / 16, gt=0, doc="label sigma = sqrt(w h) x this")
    learning_rate: float = hyper(0.009, gt=0, lt=1, doc="sample space learning rate gamma")
    n_samples: int = hyper(30, ge=2, doc="components of the sample space model")
    train_gap: int = hyper(5, ge=0, doc="frames without training between trainings")
    skip_after_frame: int = hyper(10, ge=1, doc="train every frame before this one")
    projection_reg: float = hyper(1e-7, ge=0, doc="projection matrix regularisation lambda")
    cg_iter: int = hyper(5, ge=1, doc="CG iterations per training")
    cg_forgetting_rate: float = hyper(50.0, gt=0, doc="last CG direction decays as (1 - lr)^this")
    init_cg_iter: int = hyper(150, ge=1, doc="CG iterations in the first frame, in all")
    init_gn_iter: int = hyper(10, ge=1, doc="Gauss-Newton iterations in the first frame")
    precond_data_param: float = hyper(0.75, ge=0, le=1, doc="data term's weight in the preconditioner")
    precond_reg_param: float = hyper(0.25, ge=0, le=1, doc="regulariser's weight in the preconditioner")
    precond_proj_param: float = hyper(40.0, gt=0, doc="projection part of the preconditioner")
    reg_window_min: float = hyper(1e-4, gt=0, doc="spatial regularisation on the target")
    reg_window_edge: float = hyper(10e-3, gt=0, doc="spatial regularisation at the target's edge")
    reg_window_power: float = hyper(2.0, gt=0, doc="spatial regularisation polynomial degree")
    reg_sparsity_threshold: float = hyper(0.05, ge=0, lt=1, doc="drop smaller DFT coefficients of the window")
    interp_bicubic_a: float = hyper(-0.75, ge=-1, le=0, doc="cubic interpolation kernel parameter")
    newton_iterations: int = hyper(5, ge=0, doc="Newton steps refining the detection peak")
    n_scales: int = hyper(17, ge=1, doc="fDSST scale samples")
    n_interp_scales: int = hyper(33, ge=1, doc="fDSST interpolated scales")
    scale_step: float = hyper(1.02, gt=1, le=2, doc="fDSST scale step")
    scale_sigma_factor: float = hyper(1.0 / 16, gt=0, doc="fDSST label sigma factor")
    scale_learning_rate: float = hyper(0.025, gt=0, lt=1, doc="fDSST learning rate")
    scale_model_max_area: float = hyper(32.0 * 16, gt=0, doc="fDSST patch area, pixels^2")
    scale_lambda: float = hyper(1e-2, gt=0, doc="fDSST regularisation")
    sampling: str = hyper("subpixel", choices=("subpixel", "pixel_grid"),
                          doc="subpixel: an antialiased bilinear warp at the exact centre; pixel_grid: ECO's "
                          "sample_patch.m (rounded centre, integer decimation, area resize), lower here")
    scale_sampling: str = hyper("subpixel", choices=("subpixel", "pixel_grid"),
                                doc="fDSST scale patches: subpixel warps, or pixel_grid: ECO's "
                                "extract_scale_sample.m (integer crops, area resize)")


@dataclasses.dataclass
class UDTPlusParams(ECOHCParams):
    """UDT+'s settings (``tracker/UDT+/runfiles/testing_ECO.m``)."""

    features: str = hyper("udt", doc="feature blocks, comma-separated: udt, fhog, cn")
    hog_cell_size: int = hyper(4, ge=1, doc="fHOG cell size, pixels (its commented-out hog_params)")
    output_sigma_factor: float = hyper(1.0 / 12, gt=0, doc="label sigma = sqrt(w h) x this")
    learning_rate: float = hyper(0.01, gt=0, lt=1, doc="sample space learning rate gamma")
    n_samples: int = hyper(50, ge=2, doc="components of the sample space model")
    skip_after_frame: int = hyper(1, ge=1, doc="train every frame before this one")
    projection_reg: float = hyper(5e-8, ge=0, doc="projection matrix regularisation lambda")
    init_cg_iter: int = hyper(200, ge=1, doc="CG iterations in the first frame, in all")
    cg_forgetting_rate: float = hyper(75.0, gt=0, doc="last CG direction decays as (1 - lr)^this")
    precond_data_param: float = hyper(0.3, ge=0, le=1, doc="data term's weight in the preconditioner")
    precond_reg_param: float = hyper(0.015, ge=0, le=1, doc="regulariser's weight in the preconditioner")
    precond_proj_param: float = hyper(35.0, gt=0, doc="projection part of the preconditioner")
    # ECO's own integer-pixel scale patches: with them `udtplus` on the authors' weights follows the
    # authors' published UDT+ boxes target by target (0.600 vs 0.602 on the 23 OTB targets; the
    # sub-pixel warps lose Walking2 and Girl to a growing box: 0.581), RESULTS_eco.md sec. 8
    scale_sampling: str = hyper("pixel_grid", choices=("subpixel", "pixel_grid"),
                                doc="fDSST scale patches: pixel_grid: ECO's extract_scale_sample.m "
                                "(integer crops, area resize); subpixel: sub-pixel warps")


@dataclasses.dataclass
class UDTPlusHOGParams(UDTPlusParams):
    """UDT+ with fHOG beside the UDT features, as the journal version of UDT (LUDT) adds
    hand-crafted features: on the 23 OTB targets, with regtrack's own UDT weights, AUC 0.624 at 38 fps
    of CPU time (RESULTS_eco.md §9) against 0.592 for the UDT features alone and 0.549 for ``udt`` with
    the authors' weights — the best combination at 30 fps or more, and the default tracker."""

    features: str = hyper("udt,fhog", doc="feature blocks, comma-separated: udt, fhog, cn")


def udt_block(weights: str | None, cell_size: int, dim: int) -> FeatureBlock:
    """The UDT net's LRN output (32 channels, same size as the patch), averaged over
    ``cell_size`` cells (``get_cnn_layers.m``'s average pooling by ``downsample_factor``)."""
    from regtrack.features.udt_net import cached_udt_net, packaged_or_given

    net = cached_udt_net(packaged_or_given(weights)).set_padding(1).eval()

    def extract(patches: np.ndarray) -> np.ndarray:
        # the net's channels-last fast path (half the CPU time of the NCHW one: the 32->32 conv
        # is the bulk), then the cell sums on the small pooled layout
        maps = net.extract_hwc(patches)  # B x s x s x 32
        b, h, w, c = maps.shape
        hc, wc = h // cell_size, w // cell_size
        cells = maps[:, : hc * cell_size, : wc * cell_size].reshape(b, hc, cell_size, w, c).sum(2)
        cells = cells[:, :, : wc * cell_size].reshape(b, hc, wc, cell_size, c).sum(3)
        return np.ascontiguousarray((cells * np.float32(1.0 / cell_size**2)).transpose(0, 3, 1, 2))

    return FeatureBlock("udt", extract, cell_size, dim)


def hog_block(cell_size: int, dim: int) -> FeatureBlock:
    """fHOG (31 channels) at ``cell_size``, projected to ``dim``."""
    return FeatureBlock("fhog", FHog(cell_size, scale=1.0), cell_size, dim)


def cn_block(cell_size: int, dim: int, table: str | None) -> FeatureBlock:
    """Colour names (10 channels) averaged over ``cell_size`` cells, projected to ``dim``."""
    return FeatureBlock("cn", ColorNames(table, cell_size), cell_size, dim, colour_only=True)


class _ECOTracker(Tracker):
    """The common init/update of the ECO trackers: subclasses give the feature blocks."""

    def blocks(self) -> list[FeatureBlock]:
        """The feature blocks named in ``features``."""
        p = self.params
        makers = {"udt": lambda: udt_block(p.weights, p.udt_cell_size, p.udt_compressed_dim),
                  "fhog": lambda: hog_block(p.hog_cell_size, p.hog_compressed_dim),
                  "cn": lambda: cn_block(p.cn_cell_size, p.cn_compressed_dim, p.colornames)}
        names = [n.strip() for n in p.features.split(",") if n.strip()]
        bad = [n for n in names if n not in makers]
        if bad or not names:
            raise RegtrackError(f"{self.name} features={p.features!r} is not valid",
                                fix="a comma-separated list of udt, fhog, cn")
        return [makers[n]() for n in names]

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        center, size = otb_to_center(box)
        self.eco = ECO(self.blocks(), ECOSettings.from_params(self.params))
        self.eco.init(image, center, size)
        self.timings = self.eco.timings

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        center, size = self.eco.track(image)
        return center_to_otb(center, size)


@register_tracker("eco_hc")
class ECOHC(_ECOTracker):
    """ECO-HC: fHOG + colour names (CVPR 2017). See the module docstring."""

    name = "eco_hc"
    Params = ECOHCParams


@register_tracker("udtplus")
class UDTPlus(_ECOTracker):
    """UDT+: UDT features in ECO (CVPR 2019). See the module docstring."""

    name = "udtplus"
    Params = UDTPlusParams


@register_tracker("udtplus_hog")
class UDTPlusHOG(_ECOTracker):
    """UDT+ with fHOG (the named configuration of step 4; the default tracker)."""

    name = "udtplus_hog"
    Params = UDTPlusHOGParams
