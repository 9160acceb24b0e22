"""Checkpoint round trip, atomic writing and every refusal case (with a clear message naming the file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from model.checkpoint import (
    FORMAT_MARKER,
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    sha256_file,
)
from model.config import ModelConfig
from model.network import build_model

SIZE = 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(backbone="resnet18", input_size=SIZE, rnn_type="lstm")).eval()


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(path, model, {"name": "test model", "va_source": "derived", "training": {"epochs": 3}})
    return path


def _payload(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_round_trip_rebuilds_the_same_model_from_the_file_alone(model, saved):
    loaded = load_checkpoint(saved)
    assert not loaded.model.training
    assert loaded.config.to_dict() == model.config.to_dict()
    assert loaded.config.rnn_type == "lstm"
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.sha256 == sha256_file(saved) and len(loaded.sha256) == 64
    assert loaded.path == saved
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        expected, got = model(x), loaded.model(x)
    torch.testing.assert_close(got["valence_arousal"], expected["valence_arousal"], rtol=0, atol=0)
    torch.testing.assert_close(got["spatial_attention"][0], expected["spatial_attention"][0], rtol=0, atol=0)


def test_metadata_is_stored_completed_and_stamped(saved):
    meta = load_checkpoint(saved).metadata
    assert meta["name"] == "test model"
    assert meta["va_source"] == "derived"
    assert meta["untrained"] is False
    assert meta["training"] == {"epochs": 3}
    assert meta["created"] and meta["app_version"]


def test_file_holds_plain_types_config_and_class_names(saved, model):
    payload = _payload(saved)
    assert payload["format"] == FORMAT_MARKER
    assert payload["config"] == model.config.to_dict()
    assert payload["class_names"] == list(model.config.class_names)


def test_backbone_weight_files_named_in_the_config_are_not_read_on_load(model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", model)
    payload = _payload(path)
    payload["config"]["backbone_weights"] = str(tmp_path / "gone.pth")  # would fail if it were read
    torch.save(payload, path)
    assert load_checkpoint(path).config.backbone_weights is None


def test_save_is_atomic_and_leaves_no_temp_files(model, tmp_path):
    path = tmp_path / "sub" / "model.pt"
    save_checkpoint(path, model)
    first = sha256_file(path)
    save_checkpoint(path, model, {"name": "second"})
    assert sha256_file(path) != first
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]


def test_failed_save_keeps_the_old_file(model, tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", model)
    before = sha256_file(path)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model)
    assert sha256_file(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_invalid_metadata_is_rejected_when_saving(model, tmp_path):
    with pytest.raises(ValueError, match="va_source"):
        save_checkpoint(tmp_path / "m.pt", model, {"va_source": "guessed"})
    with pytest.raises(ValueError, match="plain JSON"):
        save_checkpoint(tmp_path / "m.pt", model, {"training": {"when": object()}})
    assert not (tmp_path / "m.pt").exists()


def test_missing_file_is_refused(tmp_path):
    _refused(tmp_path / "nope.pt", "does not exist")


def test_truncated_file_is_refused(saved, tmp_path):
    path = tmp_path / "truncated.pt"
    data = saved.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "corrupt or truncated")


@pytest.mark.parametrize("content", [b"", os.urandom(400)], ids=["empty", "random-bytes"])
def test_corrupt_file_is_refused(tmp_path, content):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(content)
    _refused(path, "corrupt")


def test_plain_state_dict_is_refused(model, tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(model.state_dict(), path)
    _refused(path, "bare state_dict", "not an AffectScope checkpoint")


def test_other_format_and_non_dict_files_are_refused(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"format": "someone-else", "weights": [1, 2]}, other)
    _refused(other, "'someone-else'", "not an AffectScope checkpoint")
    listing = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], listing)
    _refused(listing, "holds a list")


def test_newer_format_version_is_refused(saved, tmp_path):
    payload = _payload(saved)
    payload["format_version"] = FORMAT_VERSION + 1
    path = tmp_path / "future.pt"
    torch.save(payload, path)
    _refused(path, "newer", "update AffectScope")


def test_unparseable_config_is_refused(saved, tmp_path):
    payload = _payload(saved)
    payload["config"]["backbone"] = "vgg99"
    path = tmp_path / "badconfig.pt"
    torch.save(payload, path)
    _refused(path, "config does not parse", "vgg99")


def test_weights_from_another_architecture_are_refused(saved, tmp_path):
    payload = _payload(saved)
    other = build_model(ModelConfig(backbone="resnet18", input_size=SIZE, rnn_hidden=64, bi_rnn=False))
    state = other.state_dict()
    del state["expression_head.bias"]
    payload["state_dict"] = state
    path = tmp_path / "other_arch.pt"
    torch.save(payload, path)
    message = _refused(path, "another architecture", "missing", "unexpected", "mis-shaped")
    assert "expression_head.bias" in message and "last_stage_proj" in message and "rnn." in message


def test_pickled_custom_object_is_refused(saved, tmp_path):
    payload = _payload(saved)
    payload["metadata"]["training"] = {"history": _Custom()}
    path = tmp_path / "custom.pt"
    torch.save(payload, path)
    _refused(path, "not plain data", "_Custom", "refused")


def test_pickle_payload_is_refused_and_never_executed(saved, tmp_path):
    marker = tmp_path / "PWNED"
    payload = _payload(saved)
    payload["metadata"] = _RunsShellCommand(f"touch {marker}")
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    _refused(path, "not plain data", "system")
    assert not marker.exists()


class _Custom:
    """A class a weights_only load may not construct."""


class _RunsShellCommand:
    """Unpickling this with a full pickle load would run `command` in a shell."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_checkpoint_permissions_are_a_choice(tmp_path):
    import os
    import stat

    from model.io import PRIVATE_MODE

    model = build_model(ModelConfig(backbone="resnet18", input_size=64))
    old = os.umask(0o022)
    try:
        default = save_checkpoint(tmp_path / "default.pt", model)
        private = save_checkpoint(tmp_path / "private.pt", model, permissions=PRIVATE_MODE)
    finally:
        os.umask(old)
    assert stat.S_IMODE(default.stat().st_mode) == 0o644  # as open() would make it
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
