"""The DCFNet / UDT feature network and the loaders for its published weights.

Architecture (Wang et al., "Unsupervised Deep Tracking", CVPR 2019, sec. 3.4 and Fig. 3; the same
net as DCFNet, Wang et al. 2017): conv 3x3 3->32, ReLU, conv 3x3 32->32, local response
normalisation over 5 channels. Input: RGB 0..255 minus a per-channel mean, 125x125 crops.

Weights formats read by :func:`load_udt_weights`:

* MatConvNet ``.mat`` (``UDT_Unsupervised.mat``, ``UDT_OTBfinetune.mat``, ``LUDT_model.mat``,
  ``DCFNet-net-7-125-2.mat``): a SimpleNN ``net.layers`` cell, or a DagNN ``net.params`` list,
  or flat ``conv1_w``/``conv1_b``/``conv2_w``/``conv2_b`` (``net_param.mat``). MATLAB v5 via
  ``scipy.io.loadmat``; MATLAB v7.3 (HDF5) via ``h5py`` for the flat and DagNN layouts.
  Filters are ``kh x kw x in x out``; input RGB; mean ``meta.normalization.averageImage``.
  MatConvNet's LRN ``param = [n kappa alpha beta]`` computes ``x / (kappa + alpha sum x^2)^beta``
  while PyTorch divides alpha by ``n``: PyTorch alpha = ``n * alpha_matconvnet`` (2e-5 -> 1e-4).
* PyTorch ``param.pth`` (DCFNet_pytorch): ``feature.0/2.weight|bias``, conv1 in **BGR** order.
* PyTorch ``checkpoint.pth.tar`` (UDT_pytorch): a Python-2 pickle, ``state_dict`` with keys
  ``module.feature.feature.0/2.*``, BGR conv1. Tracking mean BGR [104, 117, 123].
* regtrack's own files (:func:`save_udt_weights`, the output of ``regtrack train udt``):
  ``{"format": "regtrack-udt", "state_dict", "mean", "meta"}`` in RGB order.

Everything is converted to one RGB network with its mean, so trackers never see the format.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch
from torch import nn

from regtrack.errors import RegtrackError

#: The MatConvNet nets' mean, RGB (``init_UDT.m``: ``averageImage = [123, 117, 104]``).
DEFAULT_MEAN_RGB: tuple[float, float, float] = (123.0, 117.0, 104.0)
#: PyTorch ``LocalResponseNorm`` settings equal to MatConvNet's ``[5 1 2e-5 0.75]``.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1e-4, 0.75, 1.0
FORMAT_TAG = "regtrack-udt"
_EXPECTED = (
    "a DCFNet/UDT network: conv 3x3 3->32, ReLU, conv 3x3 32->32, LRN "
    "(MatConvNet .mat, DCFNet_pytorch param.pth, UDT_pytorch checkpoint.pth.tar, "
    "or a file written by `regtrack train udt`)"
)


class FastLRN(nn.Module):
    """``nn.LocalResponseNorm`` across channels, computed as a 1x1 convolution of ``x^2`` with a
    banded matrix (the window sum, with ``k`` as the bias) and, for the nets' beta = 0.75,
    ``d^-0.75 = rsqrt(d) * sqrt(rsqrt(d))``: the same numbers (to float rounding) several times
    faster on a CPU than PyTorch's pooling + ``pow`` version.
    ``b_c = a_c / (k + alpha / n * sum_{|c'-c| <= n/2} a_c'^2)^beta`` (PyTorch's convention)."""

    def __init__(
        self, size: int = LRN_SIZE, alpha: float = LRN_ALPHA, beta: float = LRN_BETA, k: float = LRN_K
    ) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)
        self._band: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _weights(self, c: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        if c not in self._band:
            i = torch.arange(c)
            lo, hi = self.size // 2, (self.size - 1) // 2  # PyTorch pads n//2 before, (n-1)//2 after
            band = ((i[None, :] >= i[:, None] - lo) & (i[None, :] <= i[:, None] + hi)).float()
            self._band[c] = ((band * (self.alpha / self.size)).view(c, c, 1, 1), torch.full((c,), self.k))
        w, b = self._band[c]
        return w.to(dtype), b.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x4 = x.reshape(-1, *shape[-3:])
        w, b = self._weights(shape[-3], x.dtype)
        d = nn.functional.conv2d(x4 * x4, w, b)
        if self.beta != 0.75:
            return (x4 * d.pow(-self.beta)).view(shape)
        if torch.is_grad_enabled() and x.requires_grad:
            r = torch.rsqrt(d)
            return (x4 * (r * torch.sqrt(r))).view(shape)
        r = d.rsqrt_()
        return r.mul_(r.sqrt()).mul_(x4).view(shape)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class UDTNet(nn.Module):
    """conv3x3(3->32) - ReLU - conv3x3(32->32) - LRN(5). ``forward`` takes RGB 0..255 floats
    ``N x 3 x H x W`` and subtracts ``mean``; :meth:`features` takes already-centred input.

    ``padding=1`` keeps the spatial size (the deployed tracker, ``deployDCFNet.m``);
    ``padding=0`` is the training net of ``init_UDT.m`` (125 -> 121).
    """

    def __init__(
        self,
        padding: int = 1,
        mean: tuple[float, float, float] = DEFAULT_MEAN_RGB,
        lrn_alpha: float = LRN_ALPHA,
        lrn_beta: float = LRN_BETA,
        lrn_k: float = LRN_K,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=padding)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=padding)
        self.lrn = FastLRN(LRN_SIZE, alpha=lrn_alpha, beta=lrn_beta, k=lrn_k)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.source = "random"

    @property
    def padding(self) -> int:
        return int(self.conv1.padding[0])

    def set_padding(self, padding: int) -> UDTNet:
        """Switch between the training (0) and tracking (1) geometry; the weights are the same."""
        self.conv1.padding = (padding, padding)
        self.conv2.padding = (padding, padding)
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The net on mean-subtracted input (what MatConvNet's ``vl_simplenn`` sees)."""
        return self.lrn(self.conv2(self.relu(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x - self.mean)

    @torch.no_grad()
    def extract(self, patches: np.ndarray) -> torch.Tensor:
        """RGB uint8 patches ``N x H x W x 3`` -> features ``N x 32 x H' x W'`` (no grad)."""
        x = torch.from_numpy(np.ascontiguousarray(patches)).permute(0, 3, 1, 2).float()
        return self(x)

    @torch.no_grad()
    def extract_hwc(self, patches: np.ndarray) -> np.ndarray:
        """Tracking's fast path: RGB uint8 patches ``N x H x W x 3`` -> features
        ``N x H' x W' x 32`` float32 NumPy. The convolutions run channels-last in torch, the LRN
        as one compiled pass over the result (about 4x faster on a CPU than torch's five
        element-wise passes); the same numbers as :meth:`extract` to float rounding."""
        x = self.conv2(self.relu(self.conv1(self._centred_channels_last(patches))))
        lrn = self.lrn
        if lrn.size != 5 or lrn.beta != 0.75 or x.shape[1] != _LRN_CHANNELS:  # torch's ops
            return np.ascontiguousarray(lrn(x).permute(0, 2, 3, 1).numpy())
        hwc = np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())
        out = np.empty_like(hwc)
        _lrn5_channels_last(hwc.reshape(-1), out.reshape(-1), np.float32(lrn.alpha / lrn.size),
                            np.float32(lrn.k))
        return out

    def _centred_channels_last(self, patches: np.ndarray) -> torch.Tensor:
        """Patches minus the mean, in their own ``H x W x 3`` layout, as a channels-last tensor
        (no transposing copy)."""
        mean = self.mean.view(1, 1, 1, 3).numpy()
        centred = np.subtract(patches, mean, dtype=np.float32)
        return torch.from_numpy(centred).permute(0, 3, 1, 2)


_LRN_CHANNELS = 32


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _lrn5_channels_last(x: np.ndarray, out: np.ndarray, alpha_n: float, k: float) -> None:
    """LRN over 5 of 32 channels with beta 0.75 (these nets' only setting) of flat channels-last
    float32 data, PyTorch's convention: ``out = x / (k + alpha/5 * sum_{c-2..c+2} x^2)^0.75``.
    Three flat passes the compiler vectorises: squares; window sums plus ``k``; ``x * d^-0.75``
    as ``r * sqrt(r)`` with ``r = 1 / sqrt(d)``. The channel count is a compile-time constant
    (``_LRN_CHANNELS``): with it a runtime value the window loop does not vectorise (5x slower)."""
    channels = _LRN_CHANNELS
    n = x.size
    sq = np.empty(n, np.float32)
    for i in range(n):
        sq[i] = x[i] * x[i]
    for p in range(n // channels):
        b = p * channels
        for j in range(channels):
            s = sq[b + j]
            if j >= 1:
                s += sq[b + j - 1]
            if j >= 2:
                s += sq[b + j - 2]
            if j + 1 < channels:
                s += sq[b + j + 1]
            if j + 2 < channels:
                s += sq[b + j + 2]
            out[b + j] = k + alpha_n * s
    for i in range(n):
        r = np.float32(1.0) / np.sqrt(out[i])
        out[i] = x[i] * r * np.sqrt(r)


def init_udt_net(seed: int = 0, padding: int = 0) -> UDTNet:
    """A randomly initialised net (PyTorch's default Kaiming-uniform conv init), seeded."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    net = UDTNet(padding=padding)
    torch.random.set_rng_state(gen_state)
    net.source = f"random (seed {seed})"
    return net


# --------------------------------------------------------------------------------------------
# loading


def load_udt_weights(path: str | Path, padding: int = 1) -> UDTNet:
    """Read any of the supported weight files (see the module doc) into a :class:`UDTNet` in RGB
    order with its own input mean. A file of the wrong kind raises a one-line
    :class:`RegtrackError` naming the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise RegtrackError("weights file not found", path=path, fix=f"give the path of {_EXPECTED}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".mat":
            params = _read_mat(path)
        elif suffix in (".pth", ".pt", ".tar", ".ckpt"):
            params = _read_torch(path)
        else:
            raise RegtrackError(
                f"unknown weights extension {suffix!r}", path=path, fix=f"expected {_EXPECTED}"
            )
    except RegtrackError:
        raise
    except Exception as err:  # a corrupt or foreign file: say which file and what was expected
        msg = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise RegtrackError(
            f"cannot read weights ({type(err).__name__}: {msg})", path=path, fix=f"expected {_EXPECTED}"
        ) from None
    return _build(params, path, padding)


#: regtrack's own unsupervised model, trained on ../shared/data/train (see udt_regtrack.md).
PACKAGED_WEIGHTS = "udt_regtrack.pth"


def packaged_weights_path() -> Path:
    """The packaged weights ``regtrack/data/udt_regtrack.pth``."""
    from importlib import resources

    return Path(str(resources.files("regtrack") / "data" / PACKAGED_WEIGHTS))


def packaged_or_given(weights: str | None) -> str:
    """``weights`` if given, else regtrack's packaged model (a one-line error if it is missing)."""
    if weights:
        return weights
    path = packaged_weights_path()
    if path.is_file():
        return str(path)
    raise RegtrackError("regtrack's packaged UDT weights are missing", path=path,
                        fix="reinstall regtrack, or pass --param weights=PATH")


_NET_CACHE: dict[tuple[str, float], UDTNet] = {}


def cached_udt_net(path: str | Path) -> UDTNet:
    """:func:`load_udt_weights` (padding 1) once per process and file (evaluation runs build one
    tracker per sequence)."""
    p = Path(path)
    key = (str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0)
    if key not in _NET_CACHE:
        _NET_CACHE[key] = load_udt_weights(p, padding=1)
    return _NET_CACHE[key]


def _build(p: dict[str, Any], path: Path, padding: int) -> UDTNet:
    shapes = {"conv1_w": (32, 3, 3, 3), "conv1_b": (32,), "conv2_w": (32, 32, 3, 3), "conv2_b": (32,)}
    for key, shape in shapes.items():
        if key not in p:
            raise RegtrackError(f"no {key} in the file", path=path, fix=f"expected {_EXPECTED}")
        arr = np.asarray(p[key], dtype=np.float32)
        if arr.size != int(np.prod(shape)) or (arr.ndim > 1 and tuple(arr.shape) != shape):
            raise RegtrackError(
                f"{key} has shape {tuple(arr.shape)}, not {shape}", path=path, fix=f"expected {_EXPECTED}"
            )
        p[key] = arr.reshape(shape)
    mean = tuple(
        float(v) for v in np.asarray(p.get("mean", DEFAULT_MEAN_RGB), dtype=np.float64).reshape(-1)[:3]
    )
    net = UDTNet(
        padding=padding,
        mean=mean,
        lrn_alpha=p.get("lrn_alpha", LRN_ALPHA),  # type: ignore[arg-type]
        lrn_beta=p.get("lrn_beta", LRN_BETA),
        lrn_k=p.get("lrn_k", LRN_K),
    )
    with torch.no_grad():
        net.conv1.weight.copy_(torch.from_numpy(p["conv1_w"]))
        net.conv1.bias.copy_(torch.from_numpy(p["conv1_b"]))
        net.conv2.weight.copy_(torch.from_numpy(p["conv2_w"]))
        net.conv2.bias.copy_(torch.from_numpy(p["conv2_b"]))
    net.source = str(path)
    net.eval()
    return net


def _mcn_filter(w: np.ndarray) -> np.ndarray:
    """MatConvNet ``kh x kw x in x out`` -> PyTorch ``out x in x kh x kw`` (both correlate)."""
    w = np.asarray(w, dtype=np.float32)
    if w.ndim == 3:  # MATLAB drops a trailing singleton dim; never the case for 32 outputs
        w = w[..., None]
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1))


def _lrn_from_mcn(param: np.ndarray) -> dict[str, float]:
    n, kappa, alpha, beta = (float(v) for v in np.asarray(param, dtype=np.float64).reshape(-1)[:4])
    if int(n) != LRN_SIZE:
        raise ValueError(f"LRN window {n:g}, expected {LRN_SIZE}")
    return {"lrn_alpha": alpha * n, "lrn_beta": beta, "lrn_k": kappa}


def _read_mat(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        m = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except NotImplementedError:  # MATLAB v7.3 = HDF5
        return _read_mat_v73(path)
    except ValueError as err:
        if "HDF" in str(err) or "7.3" in str(err):
            return _read_mat_v73(path)
        raise
    if "conv1_w" in m:  # flat layout (DCFNet's net_param.mat)
        return {
            "conv1_w": _mcn_filter(m["conv1_w"]),
            "conv1_b": np.ravel(m["conv1_b"]),
            "conv2_w": _mcn_filter(m["conv2_w"]),
            "conv2_b": np.ravel(m["conv2_b"]),
        }
    if "net" in m:
        net = m["net"]
    elif "layers" in m or "params" in m:  # a bare saved struct (`save(..., '-struct', 'net')`)
        net = type("S", (), {k: v for k, v in m.items() if not k.startswith("__")})()
        net._fieldnames = [k for k in m if not k.startswith("__")]  # type: ignore[attr-defined]
    else:
        raise RegtrackError(
            f"no 'net' variable (has {', '.join(k for k in m if not k.startswith('__'))})",
            path=path,
            fix=f"expected {_EXPECTED}",
        )
    out: dict[str, Any] = {}
    fields = getattr(net, "_fieldnames", [])
    if "layers" in fields:
        layers = [lay for lay in np.atleast_1d(net.layers)]
        convs = [lay for lay in layers if str(getattr(lay, "type", "")) == "conv"]
        if len(convs) != 2:
            raise RegtrackError(
                f"{len(convs)} conv layers, expected 2", path=path, fix=f"expected {_EXPECTED}"
            )
        for i, lay in enumerate(convs, 1):
            w, b = np.atleast_1d(lay.weights)[:2]
            out[f"conv{i}_w"], out[f"conv{i}_b"] = _mcn_filter(w), np.ravel(b)
        for lay in layers:
            if str(getattr(lay, "type", "")) == "lrn":
                out.update(_lrn_from_mcn(lay.param))
    elif "params" in fields:  # DagNN: params named conv1f/conv1b/conv2f/conv2b (init_UDT.m)
        params = {str(p.name): p.value for p in np.atleast_1d(net.params)}
        try:
            out = {
                "conv1_w": _mcn_filter(params["conv1f"]),
                "conv1_b": np.ravel(params["conv1b"]),
                "conv2_w": _mcn_filter(params["conv2f"]),
                "conv2_b": np.ravel(params["conv2b"]),
            }
        except KeyError as err:
            raise RegtrackError(
                f"DagNN net without parameter {err}", path=path, fix=f"expected {_EXPECTED}"
            ) from None
        for lay in np.atleast_1d(getattr(net, "layers", [])):
            block = getattr(lay, "block", None)
            if (
                block is not None
                and hasattr(block, "param")
                and str(getattr(lay, "type", "")).endswith("LRN")
            ):
                out.update(_lrn_from_mcn(block.param))
    else:
        raise RegtrackError("'net' has neither layers nor params", path=path, fix=f"expected {_EXPECTED}")
    meta = getattr(net, "meta", None)
    norm = getattr(meta, "normalization", None) if meta is not None else None
    if norm is not None and hasattr(norm, "averageImage"):
        avg = np.asarray(norm.averageImage, dtype=np.float64)
        out["mean"] = avg.reshape(-1, 3).mean(0) if avg.size >= 3 else np.repeat(avg.ravel()[:1], 3)
    return out


def _read_mat_v73(path: Path) -> dict[str, Any]:
    """MATLAB v7.3 files: the flat layout, or a DagNN struct saved with ``-struct`` (``params``)."""
    import h5py

    with h5py.File(path, "r") as f:

        def arr(obj: Any) -> np.ndarray:  # h5py returns MATLAB arrays with reversed dimensions
            return np.asarray(obj[()]).T

        if "conv1_w" in f:
            return {
                "conv1_w": _mcn_filter(arr(f["conv1_w"])),
                "conv1_b": np.ravel(arr(f["conv1_b"])),
                "conv2_w": _mcn_filter(arr(f["conv2_w"])),
                "conv2_b": np.ravel(arr(f["conv2_b"])),
            }
        grp = f["net"] if "net" in f else f
        if "params" in grp and isinstance(grp["params"], h5py.Group):
            names = ["".join(chr(c) for c in np.ravel(f[r][()])) for r in np.ravel(grp["params"]["name"][()])]
            values = [arr(f[r]) for r in np.ravel(grp["params"]["value"][()])]
            p = dict(zip(names, values, strict=True))
            out = {
                "conv1_w": _mcn_filter(p["conv1f"]),
                "conv1_b": np.ravel(p["conv1b"]),
                "conv2_w": _mcn_filter(p["conv2f"]),
                "conv2_b": np.ravel(p["conv2b"]),
            }
            return out
    raise RegtrackError(
        "MATLAB v7.3 file without conv1_w or a DagNN 'params' group", path=path, fix=f"expected {_EXPECTED}"
    )


def _read_torch(path: Path) -> dict[str, Any]:
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        # UDT_pytorch's checkpoint is a Python-2 pickle (numpy scalars inside): it needs the full
        # unpickler and latin1 strings. Only for files the user points at, as with any .pth.
        obj = torch.load(str(path), map_location="cpu", encoding="latin1", weights_only=False)
    if not isinstance(obj, Mapping):
        raise RegtrackError(
            f"a {type(obj).__name__}, not a state dict", path=path, fix=f"expected {_EXPECTED}"
        )
    sd = obj.get("state_dict", obj.get("model", obj))  # weights file, checkpoints (ours: "model")
    if not isinstance(sd, Mapping):
        raise RegtrackError("'state_dict' is not a mapping", path=path, fix=f"expected {_EXPECTED}")
    if "conv1.weight" in sd:  # regtrack's own weights or training checkpoint: RGB, with its mean
        return {
            "conv1_w": sd["conv1.weight"].float().numpy(),
            "conv1_b": sd["conv1.bias"].float().numpy(),
            "conv2_w": sd["conv2.weight"].float().numpy(),
            "conv2_b": sd["conv2.bias"].float().numpy(),
            "mean": np.asarray(obj.get("mean", DEFAULT_MEAN_RGB), dtype=np.float64),
        }
    keys = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    w1 = [k for k in keys if k.endswith("feature.0.weight")]
    if not w1:
        sample = ", ".join(list(keys)[:4]) or "no tensors"
        raise RegtrackError(
            f"no DCFNet/UDT conv weights (keys: {sample})", path=path, fix=f"expected {_EXPECTED}"
        )
    pre = w1[0][: -len("0.weight")]
    conv1_w = keys[pre + "0.weight"].float().numpy()
    # The PyTorch ports feed BGR images (cv2.imread): flip conv1's input channels to RGB.
    conv1_w = np.ascontiguousarray(conv1_w[:, ::-1])
    return {
        "conv1_w": conv1_w,
        "conv1_b": keys[pre + "0.bias"].float().numpy(),
        "conv2_w": keys[pre + "2.weight"].float().numpy(),
        "conv2_b": keys[pre + "2.bias"].float().numpy(),
        # DCFNet_pytorch / UDT_pytorch tracking mean: BGR [104, 117, 123] = RGB [123, 117, 104]
        "mean": np.asarray(DEFAULT_MEAN_RGB),
    }


def save_udt_weights(net: UDTNet, path: str | Path, meta: dict[str, Any] | None = None) -> None:
    """Write regtrack's weights format (RGB, ~40 KB), atomically."""
    sd = {k: v.detach().cpu().clone() for k, v in net.state_dict().items() if k.startswith("conv")}
    obj = {
        "format": FORMAT_TAG,
        "state_dict": sd,
        "mean": [float(v) for v in net.mean.view(-1)],
        "meta": dict(meta or {}),
    }
    atomic_torch_save(obj, path)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through :func:`regtrack.fileio.atomic_path`: never a half-written file."""
    from regtrack.fileio import atomic_path

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
