"""The UDT/DCFNet network and its weight loaders."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import torch

from regtrack.errors import RegtrackError
from regtrack.features.udt_net import FastLRN, UDTNet, load_udt_weights, save_udt_weights


def test_dcfnet_reference_activations_reproduced(shared):
    """net_param.mat's ``res`` holds MatConvNet's activations of every layer on a 10x10 input."""
    path = shared / "weights/dcfnet/net_param.mat"
    res = [np.asarray(r, dtype=np.float32) for r in scipy.io.loadmat(str(path))["res"][0]]
    net = load_udt_weights(path)
    x = torch.from_numpy(res[0].transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        a1 = net.conv1(x)
        a2 = torch.relu(a1)
        a3 = net.conv2(a2)
        a4 = net.lrn(a3)
    for ours, ref in zip((a1, a2, a3, a4), res[1:], strict=True):
        np.testing.assert_allclose(ours[0].numpy().transpose(1, 2, 0), ref, atol=1e-5, rtol=0)
    # the LRN alpha convention matters at this tolerance: MatConvNet's 2e-5 taken as PyTorch's is wrong
    wrong = torch.nn.LocalResponseNorm(5, alpha=2e-5, beta=0.75, k=1.0)(a3)
    assert float((wrong - a4).abs().max()) > 1e-4


@pytest.mark.parametrize("rel", ["weights/dcfnet/DCFNet-net-7-125-2.mat", "weights/dcfnet/param.pth"])
def test_dcfnet_formats_agree(shared, rel):
    """The .mat and the BGR param.pth hold the same net once conv1 is flipped to RGB."""
    ref = load_udt_weights(shared / "weights/dcfnet/net_param.mat")
    net = load_udt_weights(shared / rel)
    for a, b in zip(ref.parameters(), net.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert net.mean.view(-1).tolist() == [123.0, 117.0, 104.0]


@pytest.mark.parametrize(
    "rel",
    [
        "weights/udt/UDT_Unsupervised.mat",
        "weights/udt/LUDT_model.mat",
        "weights/udt_pytorch/checkpoint.pth.tar",
    ],
)
def test_udt_weights_load(shared, rel):
    net = load_udt_weights(shared / rel)
    out = net(torch.full((1, 3, 17, 17), 128.0))
    assert out.shape == (1, 32, 17, 17) and torch.isfinite(out).all()
    assert net.lrn.alpha == pytest.approx(1e-4)


def test_pytorch_checkpoint_is_bgr(shared):
    """UDT_pytorch feeds BGR: our RGB conv1 is its conv1 with the input channels reversed."""
    raw = torch.load(
        shared / "weights/udt_pytorch/checkpoint.pth.tar",
        map_location="cpu",
        encoding="latin1",
        weights_only=False,
    )["state_dict"]["module.feature.feature.0.weight"]
    net = load_udt_weights(shared / "weights/udt_pytorch/checkpoint.pth.tar")
    torch.testing.assert_close(net.conv1.weight, raw.flip(1))


def test_wrong_files_rejected(tmp_path, shared):
    bad_mat = tmp_path / "other.mat"
    scipy.io.savemat(str(bad_mat), {"foo": np.zeros(3)})
    with pytest.raises(RegtrackError, match=r"other\.mat.*no 'net' variable.*expected"):
        load_udt_weights(bad_mat)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(RegtrackError, match=r"junk\.pth: cannot read weights"):
        load_udt_weights(junk)
    wrong_shape = tmp_path / "vgg.pth"
    torch.save(
        {
            "feature.0.weight": torch.zeros(64, 3, 3, 3),
            "feature.0.bias": torch.zeros(64),
            "feature.2.weight": torch.zeros(64, 64, 3, 3),
            "feature.2.bias": torch.zeros(64),
        },
        wrong_shape,
    )
    with pytest.raises(RegtrackError, match=r"vgg\.pth: conv1_w has shape \(64, 3, 3, 3\)"):
        load_udt_weights(wrong_shape)
    with pytest.raises(RegtrackError, match="not found"):
        load_udt_weights(tmp_path / "missing.mat")
    # an image is not weights
    with pytest.raises(RegtrackError, match="unknown weights extension"):
        load_udt_weights(next((shared / "data/otb/Bird2/img").glob("*.jpg")))
    for err_msg in ():
        assert "\n" not in err_msg


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    net = UDTNet(padding=0)
    path = tmp_path / "mine.pth"
    save_udt_weights(net, path, meta={"note": "test"})
    back = load_udt_weights(path)
    for a, b in zip(net.parameters(), back.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert back.padding == 1 and path.stat().st_size < 60_000


def test_fast_lrn_matches_torch():
    x = torch.randn(2, 32, 9, 11) * 20
    torch.testing.assert_close(
        FastLRN()(x), torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)(x), atol=1e-5, rtol=1e-5
    )
    lrn = FastLRN(beta=0.5)
    torch.testing.assert_close(lrn(x), torch.nn.LocalResponseNorm(5, 1e-4, 0.5, 1.0)(x), atol=1e-5, rtol=1e-5)


def test_matlab_v73_file_loads(tmp_path, shared):
    """A MATLAB v7.3 (HDF5) save of net_param.mat's weights loads to the same net."""
    import h5py

    m = scipy.io.loadmat(str(shared / "weights/dcfnet/net_param.mat"))
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        for k in ("conv1_w", "conv1_b", "conv2_w", "conv2_b"):
            f.create_dataset(k, data=np.asarray(m[k]).T)  # MATLAB is column-major: h5py sees reversed dims
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write((header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM").ljust(512, b"\x00"))
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(str(path))
    a, b = load_udt_weights(path), load_udt_weights(shared / "weights/dcfnet/net_param.mat")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)


def test_tracking_fast_path_matches_the_torch_net():
    """extract_hwc (compiled LRN, channels last) = extract (torch's LRN) to float rounding."""
    from regtrack.features.udt_net import init_udt_net

    net = init_udt_net(seed=3, padding=1).eval()
    patches = np.random.default_rng(0).integers(0, 256, (2, 31, 29, 3), dtype=np.uint8)
    reference = net.extract(patches).permute(0, 2, 3, 1).numpy()
    fast = net.extract_hwc(patches)
    assert fast.shape == reference.shape and fast.flags.c_contiguous
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())
