"""UDT (Wang, Song, Ma, Zhou, Liu, Li: "Unsupervised Deep Tracking", CVPR 2019) and DCFNet
(Wang et al., arXiv 2017): a two-layer conv net whose features feed a linear-kernel correlation
filter, solved in closed form in the Fourier domain (UDT eq. 1-2; the core's
:mod:`regtrack.core.dcf`).

Tracking follows the authors' MATLAB tracker ``tracker/UDT/runfiles/run_UDT.m`` (594422814/UDT,
commit 77ef59c), the one that produced the published OTB results:

* a ``(1 + padding)``-times-target window, resampled to 125x125, minus the net's mean; features
  times a cosine window; the filter ``alphaf = yf / (kxxf + lambda)`` with the kernel divided by
  ``numel(xf)`` (``kf = sum(xf .* conj(xf), 3) / numel_xf``);
* three scales ``step^{-1, 0, 1}``; the peak of each scale's response, the non-centre scales'
  peaks multiplied by ``scale_penalty``, the best one wins; integer peak, no sub-pixel step;
* the new size is the chosen window over ``1 + padding``, clamped to
  ``[max(4, 0.2 * initial), min(image, 5 * initial)]``;
* a fresh patch at the new position and scale updates ``xf`` and ``alphaf`` with rate 0.01.

``run_UDT.m`` sets padding 1.8, scale step 1.015 and scale penalty 1.2 for UDT (its
``DCFNet_initialize`` defaults, padding 2.0, step 1.0275, penalty 0.9925, are DCFNet's and are the
``dcfnet`` tracker's defaults). UDT_pytorch's ``TrackerConfig`` uses the DCFNet values; we follow
the MATLAB code because the published UDT numbers came from it. Patches are sampled without the
anti-aliasing blur (``vl_nnbilinearsampler`` has none).

Speed on a 2-core CPU (benchmarks/RESULTS_udt.md), with the boxes of the plain sequential search:

* features are kept channels-last (``n x n x 32``) from the net to the FFTs; the window, zoom and
  shift of a sample are one compiled pass (:func:`~regtrack.core.sampling.zoom_feature_maps`);
* with run_UDT.m's penalty 1.2 the centre scale must beat the side scales by 20 % to win (on the
  23 OTB targets it never does); the centre crop goes through the net only when an estimate
  from the larger side crop says it might (``lazy_centre_scale``);
* a frame's work is split over two threads: the previous frame's model update and one side
  scale on a worker, the other side and the centre estimate here (``overlap_update``); a model
  update whose sample is the search crop itself (no shift) reuses its spectrum.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from regtrack.core import dcf
from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import gaussian_label, hann_window, output_sigma
from regtrack.core.sampling import sample_patch, zoom_feature_maps
from regtrack.errors import RegtrackError
from regtrack.features.udt_net import (
    PACKAGED_WEIGHTS,
    UDTNet,
    cached_udt_net,
    packaged_or_given,
    packaged_weights_path,
)
from regtrack.trackers.base import Tracker, hyper, register_tracker

DEFAULT_WEIGHTS = PACKAGED_WEIGHTS
default_weights_path = packaged_weights_path


@dataclasses.dataclass
class UDTParams:
    """UDT's tracking hyperparameters, defaults from ``run_UDT.m`` (UDT, CVPR 2019)."""

    weights: str | None = hyper(None,
                                doc="weights file; none = our own (regtrack/data/udt_regtrack.pth)")
    input_size: int = hyper(125, ge=16, le=512, doc="net input, pixels (init_UDT.m)")
    padding: float = hyper(1.8, ge=0, le=20,
                           doc="window = (1 + padding) x target (run_UDT.m, commit 77ef59c)")
    lam: float = hyper(1e-4, gt=0, le=1e3, doc="ridge regulariser lambda (UDT eq. 1)")
    output_sigma_factor: float = hyper(0.1, gt=0, le=10,
                                       doc="label sigma = sqrt(prod(input/(1+padding))) x factor")
    interp_factor: float = hyper(0.01, ge=0, le=1, doc="model learning rate (0: never update)")
    num_scales: int = hyper(3, ge=1, le=9, doc="scales searched per frame (run_UDT.m: 3)")
    scale_step: float = hyper(1.015, gt=1, le=2, doc="scale factor between neighbouring scales")
    scale_penalty: float = hyper(1.2, gt=0, le=10,
                                 doc="multiplies the non-centre scales' peaks (run_UDT.m; >1 as published)")
    min_scale_factor: float = hyper(0.2, gt=0, le=1, doc="the target may shrink to this x its first size")
    max_scale_factor: float = hyper(5.0, ge=1, le=100, doc="the target may grow to this x its first size")
    normalize_kernel: bool = hyper(True, doc="divide the linear kernel by numel(xf), as run_UDT.m does")
    # Threads for each run of the net (torch's, set for the call and restored after); 0: torch's
    # own setting. With the work split over two threads below, one each is fastest on 2 cores.
    threads: int = hyper(1, ge=0, le=256, doc="torch threads per net run (0: torch's own setting)")
    # Threads for the FFTs of the scale search when it runs on one thread (scipy's workers);
    # 0: every core this process may use.
    fft_workers: int = hyper(0, ge=0, le=256, doc="scipy FFT workers (0: every core)")
    # Split each frame over two threads: frame t's model update, then one side scale's crop,
    # net and response, on a worker thread; the other side scale and the centre on this one.
    # Detection waits for the update, so the numbers are those of the sequential order.
    overlap_update: bool = hyper(True, doc="split each frame over two threads (same boxes)")
    # With scale_penalty > 1 (run_UDT.m's 1.2) the centre scale wins only if its peak beats the
    # side scales' by 20 %. Its peak is first estimated from the larger side crop's features
    # zoomed onto the centre window; only if the estimate reaches ``centre_check_margin`` times
    # the best penalised side peak is the centre crop run through the net. The boxes are those of
    # the full three-crop search whenever the estimate falls short of the true centre peak by
    # less than 1 - margin (12 %) of that side peak. On the 23 OTB targets (official and own
    # weights) it fell short by at most 10.8 % (4.5 % on the targets UDT does not lose), the
    # estimate never reached 0.85, and the centre never came within 8 % of winning
    # (benchmarks/bench_udt_centre.py, RESULTS_udt.md section 7). Saves one of the three net
    # passes a frame. Off: every scale through the net, as run_UDT.m does; it is also off when
    # scale_penalty <= 1 (DCFNet), where the centre usually wins.
    lazy_centre_scale: bool = hyper(True, doc="estimate the centre scale's peak before running the net on it")
    centre_check_margin: float = hyper(
        0.88, ge=0, le=1, doc="run the centre crop if its estimate reaches this x the side peak; 0: always")
    # Re-use the chosen scale's search features, moved by the (whole-pixel) displacement, for the
    # model update instead of cropping and running the net again (run_UDT.m does the latter).
    # The new patch is exactly the search patch moved by whole pixels, so only a border strip
    # |shift| + 2 px wide differs (edge values here), where the cosine window is ~0.
    reuse_features: bool = hyper(True, doc="re-use the search features, moved, for the model update")


@dataclasses.dataclass
class DCFNetParams(UDTParams):
    """DCFNet's tracking defaults (``DCFNet_initialize`` in run_UDT.m / DCFNet's run_DCFNet.m)."""

    padding: float = hyper(2.0, ge=0, le=20, doc="window = (1 + padding) x target (DCFNet)")
    scale_step: float = hyper(1.0275, gt=1, le=2, doc="scale factor between neighbouring scales (DCFNet)")
    scale_penalty: float = hyper(0.9925, gt=0, le=10, doc="multiplies the non-centre scales' peaks (DCFNet)")


def _resolve_weights(name: str, weights: str | None) -> str:
    if weights or name == "udt":
        return packaged_or_given(weights)
    raise RegtrackError(
        f"tracker {name!r} needs a weights file",
        fix="pass --param weights=PATH (e.g. ../shared/weights/dcfnet/DCFNet-net-7-125-2.mat)",
    )


@register_tracker("udt")
class UDTTracker(Tracker):
    """UDT: unsupervised features + a correlation filter, three scales. See the module doc."""

    name = "udt"
    Params = UDTParams

    def __init__(
        self, params: UDTParams | None = None, net: UDTNet | None = None, **overrides: object
    ) -> None:
        super().__init__(params, **overrides)
        p = self.params
        self.net = net if net is not None else cached_udt_net(_resolve_weights(self.name, p.weights))
        self.net.set_padding(1).eval()
        n = p.input_size
        self.out_size = (n, n)
        sigma = output_sigma(np.array([n, n]) / (1.0 + p.padding), p.output_sigma_factor)
        # The filter runs in NumPy (scipy.fft is about twice as fast as torch.fft on a CPU for 125x125).
        self.yf = dcf.fft2(gaussian_label(n, n, sigma))
        self.window = hann_window(n, n).astype(np.float32)
        half = (p.num_scales - 1) / 2.0  # symmetric exponents (-1, 0, 1); cf. the Python-3 bug in §1.5
        self.scale_factors = p.scale_step ** (np.arange(p.num_scales) - half)
        self.penalties = np.where(np.arange(p.num_scales) == p.num_scales // 2, 1.0, p.scale_penalty)
        self.n_elements = 32 * n * n if p.normalize_kernel else None

    # -- helpers -------------------------------------------------------------------------------
    def _fft_workers(self) -> int:
        return self.params.fft_workers or _usable_cores()

    def _extract(self, patches: np.ndarray) -> np.ndarray:
        """The net on RGB patches ``N x H x W x 3``: features ``N x H x W x 32`` (channels last),
        on ``params.threads`` torch threads."""
        before = torch.get_num_threads()
        wanted = self.params.threads or before
        if wanted != before:
            torch.set_num_threads(wanted)
        try:
            return self.net.extract_hwc(patches)
        finally:
            if wanted != before:
                torch.set_num_threads(before)

    def _crops(self, image: np.ndarray, windows: list[np.ndarray]) -> np.ndarray:
        """The net's features of ``n x n`` crops of each window ``(w, h)`` about ``self.center``."""
        patches = np.stack(
            [sample_patch(image, self.center, w, self.out_size, antialias=False) for w in windows]
        )
        return self._extract(patches)

    def _spectra(
        self, maps: np.ndarray, zooms: np.ndarray, offsets: np.ndarray, workers: int
    ) -> np.ndarray:
        """FFT of the features times the cosine window: map ``i`` of ``maps`` (``S x M x M x 32``)
        zoomed by ``zooms[i]`` about its centre, moved by ``offsets[i]`` output pixels
        (:func:`~regtrack.core.sampling.zoom_feature_maps`) -> ``S x n x (n//2+1) x 32``."""
        windowed = zoom_feature_maps(maps, zooms, offsets, self.params.input_size, self.window)
        return dcf.fft2(windowed, workers=workers, channels_last=True)

    def _responses(
        self, maps: np.ndarray, zooms: np.ndarray, workers: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Detection (UDT eq. 2) on feature maps: ``(spectra, responses S x n x n)``. Reads the
        model."""
        n = self.params.input_size
        zf = self._spectra(maps, zooms, np.zeros((len(maps), 2)), workers)
        kxzf = dcf.linear_kernel(self.model_xf, zf, self.n_elements, channels_last=True)
        return zf, dcf.kernel_response(self.model_alphaf, kxzf, (n, n))

    def _crop_responses(
        self, image: np.ndarray, windows: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Crops about ``self.center`` -> net -> ``(maps, spectra, responses)``, on one thread."""
        maps = self._crops(image, windows)
        return (maps, *self._responses(maps, np.ones(len(maps))))

    def _learn(self, xf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The filter ``alphaf`` of one sample's spectrum ``xf`` (UDT eq. 1)."""
        kxxf = dcf.linear_kernel(xf, xf, self.n_elements, channels_last=True)
        return xf, dcf.solve_alpha(kxxf, self.yf, self.params.lam)

    # -- API -----------------------------------------------------------------------------------
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        p = self.params
        self.center, self.size = otb_to_center(box)
        self.min_size = np.maximum(4.0, p.min_scale_factor * self.size)
        self.max_size = np.minimum(
            np.array([image.shape[1], image.shape[0]], float), p.max_scale_factor * self.size
        )
        self._finish_model_update()  # a re-init while an update is in flight
        # lazy search bookkeeping: frames whose centre crop went through the net, and per frame
        # (centre estimate, best penalised side peak[, the centre's exact peak when computed])
        self.centre_checks = 0
        self.centre_estimates: list[tuple[float, ...]] = []
        maps = self._crops(image, [self.size * (1.0 + p.padding)])
        xf = self._spectra(maps, np.ones(1), np.zeros((1, 2)), self._fft_workers())[0]
        self.model_xf, self.model_alphaf = self._learn(xf)

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        p = self.params
        n = p.input_size
        window0 = self.size * (1.0 + p.padding)
        windows = [window0 * s for s in self.scale_factors]
        # frame -> crops -> features -> responses, one per scale
        search = self._search_lazy if self._lazy_centre else self._search_all
        maps, spectra, responses = search(image, windows)
        # -> the best (penalised) peak -> box
        peaks = responses.reshape(len(windows), -1).max(1)
        best = int(np.argmax(peaks * self.penalties))
        dy, dx, _ = dcf.peak_offset(responses[best], subpixel=False)
        window = windows[best]
        # keep the centre on the image: a target that leaves is awaited at the border it left by
        self.center = clamp_center(self.center + np.array([dx, dy]) * window / n, self.frame_shape)
        self.size = np.minimum(np.maximum(window / (1.0 + p.padding), self.min_size), self.max_size)
        # -> update: the sample centred on the new position, at the chosen scale
        if p.reuse_features and dy == 0 and dx == 0:  # the search sample itself: its spectrum
            sample: tuple = (spectra[best],)
        elif p.reuse_features:  # the chosen crop's features moved by the (whole-pixel) shift
            sample = (maps[best][None], np.ones(1), np.array([[dy, dx]]))
        else:  # run_UDT.m: a fresh crop at the new position and scale through the net
            sample = (self._crops(image, [window]), np.ones(1), np.zeros((1, 2)))
        if p.overlap_update:
            self._pending = _update_pool().submit(self._update_model, *sample)
        else:
            self._update_model(*sample)
        return center_to_otb(self.center, self.size)

    @property
    def _lazy_centre(self) -> bool:
        p = self.params
        return p.lazy_centre_scale and p.scale_penalty > 1.0 and p.num_scales >= 3

    def _search_all(self, image: np.ndarray, windows: list[np.ndarray]) -> tuple[list, list, np.ndarray]:
        """Every scale's crop through the net (run_UDT.m): per-scale feature maps and spectra,
        and the responses ``S x n x n``."""
        maps = self._crops(image, windows)
        self._finish_model_update()
        spectra, responses = self._responses(maps, np.ones(len(maps)), self._fft_workers())
        return list(maps), list(spectra), responses

    def _search_lazy(self, image: np.ndarray, windows: list[np.ndarray]) -> tuple[list, list, np.ndarray]:
        """As :meth:`_search_all`, but with the side scales through the net (the smaller ones on
        the worker thread when overlapping) and the centre estimated from the next larger crop's
        features, run through the net only if it may win (``UDTParams.lazy_centre_scale``)."""
        c = len(windows) // 2
        below, above = windows[:c], windows[c + 1 :]
        # the centre window inside the next larger crop: zoom 1 / (its scale over the centre's)
        zoom = self.scale_factors[c] / self.scale_factors[c + 1]
        if self.params.overlap_update:  # queued after the model update: the model is ready
            below_job = _update_pool().submit(self._crop_responses, image, below)
            maps_above = self._crops(image, above)
            self._finish_model_update()
            zf_above, resp_above = self._responses(maps_above, np.ones(len(above)))
            zf_centre, centre = self._responses(maps_above[:1], np.array([zoom]))
            maps_below, zf_below, resp_below = below_job.result()
        else:
            maps_below, zf_below, resp_below = self._crop_responses(image, below)
            maps_above, zf_above, resp_above = self._crop_responses(image, above)
            zf_centre, centre = self._responses(maps_above[:1], np.array([zoom]))
        side_best = max(resp_below.max(), resp_above.max()) * self.params.scale_penalty
        self.centre_estimates.append((float(centre.max()), float(side_best)))
        margin = self.params.centre_check_margin  # <= 0: always (to measure the estimate)
        if margin <= 0 or centre.max() >= margin * side_best:
            self.centre_checks += 1
            maps_centre, zf_centre, centre = self._crop_responses(image, [windows[c]])
            self.centre_estimates[-1] += (float(centre.max()),)
        else:  # the centre loses; its (estimated) maps are never used
            maps_centre = maps_above[:1]
        return (
            [*maps_below, *maps_centre, *maps_above],
            [*zf_below, *zf_centre, *zf_above],
            np.concatenate([resp_below, centre, resp_above]),
        )

    def _update_model(self, *sample: np.ndarray) -> None:
        """Learn from the new sample and interpolate it into the model (rate ``interp_factor``).
        ``sample`` is ``(maps, zooms, offsets)`` for :meth:`_spectra` (one thread: this may run
        beside the next frame's net), or its spectrum when the search already has it."""
        xf = sample[0] if len(sample) == 1 else self._spectra(*sample, workers=1)[0]
        xf, alphaf = self._learn(xf)
        self.model_xf, self.model_alphaf = dcf.update_model(
            (self.model_xf, self.model_alphaf), (xf, alphaf), self.params.interp_factor)

    def _finish_model_update(self) -> None:
        """Wait for the model update started by the previous frame (re-raises its error)."""
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None:
            pending.result()


@register_tracker("dcfnet")
class DCFNetTracker(UDTTracker):
    """DCFNet: the same tracker with DCFNet's supervised weights and its own defaults."""

    name = "dcfnet"
    Params = DCFNetParams


_POOL: ThreadPoolExecutor | None = None


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _update_pool() -> ThreadPoolExecutor:
    """One worker thread per process for the overlapped work: the model updates and one side
    scale's search (torch, NumPy, SciPy's FFT and the compiled passes release the GIL, so it runs
    beside this thread's net on another core)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regtrack-udt-update")
    return _POOL
