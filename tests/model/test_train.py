"""Two-stage training as a generator of events: order, checkpoints, hand-over, cancel/resume, atomicity."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from model.checkpoint import load_checkpoint, save_checkpoint
from model.config import ModelConfig
from model.network import build_model
from model.train import (
    Cancelled,
    CheckpointWritten,
    EpochDone,
    RunFinished,
    RunStarted,
    StageDone,
    StageStarted,
    StepDone,
    TrainOptions,
    train,
)
from model.train import run as train_module

TINY_CONFIG = ModelConfig(backbone="mobilenetv3_large_100", input_size=64, dropout=0.0)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: several processes share this 2-core machine, and two threads each thrash."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyFaces(Dataset):
    """Random 64 px 'faces' with every label kind, in the dataset item format of docs/ARCHITECTURE.md."""

    def __init__(self, n: int = 8, seed: int = 0, size: int = 64) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = torch.randn(n, 3, size, size, generator=g)  # (N,3,S,S)
        self.expression = (np.arange(n) + seed) % 8  # (N,) every class, balanced when n % 8 == 0
        self.va = np.stack([np.linspace(-0.9, 0.9, n), np.cos(np.arange(n) + seed)], axis=1).astype(
            np.float32
        )
        self.skip_counts = {"missing_image": seed}

    def __len__(self) -> int:
        return len(self.expression)

    def __getitem__(self, i: int) -> dict:
        return {
            "image": self.images[i],
            "expression": torch.tensor(int(self.expression[i])),
            "soft_target": torch.full((8,), math.nan),
            "valence_arousal": torch.from_numpy(self.va[i]),
            "path": f"face{i:03d}.png",
        }

    def expression_labels(self) -> np.ndarray:
        return self.expression.copy()

    def valence_arousal_labels(self) -> np.ndarray:
        return self.va.copy()

    def soft_target_labels(self) -> np.ndarray:
        return np.full((len(self), 8), np.nan, dtype=np.float32)


def tiny_options(out_dir: Path, **changes) -> TrainOptions:
    """8 training and 8 validation images, batch 4 (2 steps per epoch), no worker processes."""
    base = dict(
        train_dataset=TinyFaces(8, seed=0),
        val_dataset=TinyFaces(8, seed=1),
        model_config=TINY_CONFIG,
        epochs=(2, 1),
        batch_size=4,
        workers=0,
        out_dir=out_dir,
    )
    base.update(changes)
    return TrainOptions(**base)


def scripted_validation(monkeypatch, values: list[float]) -> None:
    """Make successive validations report `values` as both accuracy and mean CCC (the stage criteria)."""
    real = train_module.headline
    queue = list(values)

    def scripted(metrics):
        out = real(metrics)
        v = queue.pop(0)
        out.update(accuracy=v, ccc_mean=v)
        return out

    monkeypatch.setattr(train_module, "headline", scripted)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model.state_dict()


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_two_stage_run_cancel_at_stage_two_then_resume(tmp_path, monkeypatch):
    """Events come in order, stage 2 starts from the best (not the last) stage-1 weights, and a cancelled
    run leaves a loadable checkpoint that --resume continues without redoing stage 1."""
    scripted_validation(monkeypatch, [0.6, 0.2, 0.5])  # stage 1 best at epoch 0, not the last epoch
    out = tmp_path / "run"
    cancel = threading.Event()
    events = []
    for event in train(tiny_options(out), cancel):
        events.append(event)
        if isinstance(event, StageStarted) and event.stage == 2:
            cancel.set()
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "RunStarted",
        "StageStarted",
        "StepDone",
        "StepDone",
        "EpochDone",
        "CheckpointWritten",
        "CheckpointWritten",
        "StepDone",
        "StepDone",
        "EpochDone",
        "CheckpointWritten",
        "StageDone",
        "StageStarted",
        "CheckpointWritten",
        "Cancelled",
    ]
    started = events[0]
    assert isinstance(started, RunStarted) and (started.n_train, started.n_val) == (8, 8)
    assert started.skip_counts == {"training": {"missing_image": 0}, "validation": {"missing_image": 1}}
    steps = [e for e in events if isinstance(e, StepDone)]
    assert [(s.epoch, s.step, s.stage_step) for s in steps] == [(0, 1, 1), (0, 2, 2), (1, 1, 3), (1, 2, 4)]
    assert all(math.isfinite(s.losses["total"]) and s.images_per_s > 0 for s in steps)
    epochs = [e for e in events if isinstance(e, EpochDone)]
    assert [e.is_best for e in epochs] == [True, False]
    stage1 = next(e for e in events if isinstance(e, StageDone))
    assert (stage1.best_epoch, stage1.epochs_run, stage1.steps, stage1.reason) == (0, 2, 4, "completed")
    assert isinstance(events[-1], Cancelled) and events[-1].stage == 2

    best1, last1 = weights(out / "stage1_best.pt"), weights(out / "stage1_last.pt")
    assert not same_weights(best1, last1)
    assert same_weights(weights(out / "stage2_last.pt"), best1)  # stage 2 began from the best stage-1 weights
    assert load_checkpoint(out / "stage1_best.pt").metadata["training"]["epoch"] == 1

    resumed = list(train(tiny_options(out, resume=True)))
    assert isinstance(resumed[0], RunStarted) and resumed[0].resumed
    assert [e.stage for e in resumed if isinstance(e, StageStarted)] == [2]
    assert sum(isinstance(e, StepDone) for e in resumed) == 2
    finished = resumed[-1]
    assert isinstance(finished, RunFinished)
    assert finished.model_path == str(out / "stage2_best.pt")
    assert finished.best_paths == {1: str(out / "stage1_best.pt"), 2: str(out / "stage2_best.pt")}
    final = load_checkpoint(finished.model_path)
    assert final.metadata["va_source"] == "measured" and final.metadata["training"]["stage"] == 2
    assert final.metadata["training"]["va_rows"] == final.metadata["training"]["training_rows"] == 8
    log_lines = (out / "train_log.jsonl").read_text().splitlines()
    assert '"event": "RunFinished"' in log_lines[-1]
    with pytest.raises(ValueError, match="already finished"):
        next(iter(train(tiny_options(out, resume=True))))


def test_cancel_mid_epoch_then_resume_finishes_the_epoch(tmp_path):
    """A cancel between steps writes a loadable checkpoint; resume takes only the epoch's remaining step."""
    out = tmp_path / "run"
    cancel = threading.Event()
    events = []
    for event in train(tiny_options(out, stages="1", epochs=(1, 1)), cancel):
        events.append(event)
        if isinstance(event, StepDone):
            cancel.set()
    assert [type(e).__name__ for e in events][-3:] == ["StepDone", "CheckpointWritten", "Cancelled"]
    assert (events[-1].epoch, events[-1].step) == (0, 1)
    cancelled_weights = weights(Path(events[-1].checkpoint_path))
    with pytest.raises(ValueError, match="--resume"):
        next(iter(train(tiny_options(out, stages="1", epochs=(1, 1)))))

    resumed = list(train(tiny_options(out, stages="1", epochs=(1, 1), resume=True)))
    steps = [e for e in resumed if isinstance(e, StepDone)]
    assert [(s.epoch, s.step, s.steps_per_epoch) for s in steps] == [(0, 2, 2)]
    assert isinstance(resumed[-1], RunFinished)
    assert not same_weights(weights(out / "stage1_last.pt"), cancelled_weights)


def test_cancel_in_the_last_step_of_an_epoch_stops_without_validating_and_resume_validates(tmp_path):
    """Cancel must end the run within one step: no validation pass after it (it took 12 s in the GUI)."""
    out = tmp_path / "run"
    cancel = threading.Event()
    events = []
    for event in train(tiny_options(out, stages="1", epochs=(2, 1)), cancel):
        events.append(event)
        if isinstance(event, StepDone) and event.step == event.steps_per_epoch:  # the epoch's last step
            cancel.set()
    names = [type(e).__name__ for e in events]
    assert names[-3:] == ["StepDone", "CheckpointWritten", "Cancelled"] and "EpochDone" not in names
    resumed = list(train(tiny_options(out, stages="1", epochs=(2, 1), resume=True)))
    epochs = [e.epoch for e in resumed if isinstance(e, EpochDone)]
    assert epochs == [0, 1]  # the cancelled epoch is validated first, then the next one runs
    assert sum(isinstance(e, StepDone) for e in resumed) == 2 and isinstance(resumed[-1], RunFinished)


def test_crash_while_writing_best_checkpoint_keeps_the_old_best(tmp_path, monkeypatch):
    """torch.save failing halfway through the new best leaves the previous best file intact, no temp files."""
    scripted_validation(monkeypatch, [0.2, 0.7])  # epoch 1 is a new best
    out = tmp_path / "run"
    real_save = torch.save
    model_saves_after_first_epoch = []
    first_epoch_done = threading.Event()

    def crashing_save(obj, f, *args, **kwargs):
        if first_epoch_done.is_set() and isinstance(obj, dict) and "state_dict" in obj:
            model_saves_after_first_epoch.append(obj)
            if len(model_saves_after_first_epoch) == 2:  # stage1_last.pt, then stage1_best.pt
                f.write(b"half a checkpoint")
                raise OSError("disk full")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        for event in train(tiny_options(out, stages="1", epochs=(2, 1)), None):
            if isinstance(event, EpochDone):
                first_epoch_done.set()
    best = load_checkpoint(out / "stage1_best.pt")
    assert best.metadata["training"]["epoch"] == 1  # still the epoch-0 best
    assert load_checkpoint(out / "stage1_last.pt").metadata["training"]["epoch"] == 2
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


def test_a_resumed_run_clears_the_temporary_files_a_killed_write_left(tmp_path):
    out = tmp_path / "run"
    cancel = threading.Event()
    for event in train(tiny_options(out, stages="1", epochs=(1, 1)), cancel):
        if isinstance(event, StepDone):
            cancel.set()
    stale = out / ".stage1_last.pt.k3j9x2.tmp"  # as a kill during atomic_write leaves it
    stale.write_bytes(b"half a checkpoint")
    assert isinstance(list(train(tiny_options(out, stages="1", epochs=(1, 1), resume=True)))[-1], RunFinished)
    assert not stale.exists() and not list(out.glob(".*.tmp"))


def test_max_steps_and_stage_two_alone_from_scratch(tmp_path):
    """Stage "2" alone (the one-stage ablation) trains V/A from a fresh model; max_steps ends the stage."""
    events = list(train(tiny_options(tmp_path / "run", stages="2", max_steps=1)))
    started = [e for e in events if isinstance(e, StageStarted)]
    assert [e.stage for e in started] == [2]
    assert (started[0].lr, started[0].backbone_lr) == (1e-3, 1e-3)  # a new model's default
    done = next(e for e in events if isinstance(e, StageDone))
    assert done.reason == "max_steps" and done.epochs_run == 1
    assert sum(isinstance(e, StepDone) for e in events) == 1
    written = [e for e in events if isinstance(e, CheckpointWritten)]
    assert {Path(e.path).name for e in written} == {"stage2_last.pt", "stage2_best.pt"}
    assert "ccc_mean" in next(e for e in events if isinstance(e, EpochDone)).metrics


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stages": "3"}, "stages must be one of"),
        ({"batch_size": 0}, "batch_size must be > 0"),
        ({"epochs": (0, 1)}, "epochs must be two numbers"),
        ({"device": "tpu"}, "device must be"),
        ({"class_balance": "magic"}, "class_balance"),
        ({"train_dataset": None, "data": "/no/such/folder"}, "does not exist"),
        ({"start_checkpoint": "/no/such.pt", "model_config": None}, "does not exist"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        next(iter(train(tiny_options(tmp_path / "run", **changes))))


def test_stage_two_refuses_data_without_valence_arousal(tmp_path):
    data = TinyFaces(8)
    data.va[:] = np.nan
    with pytest.raises(ValueError, match="valence/arousal labels"):
        next(iter(train(tiny_options(tmp_path / "run", train_dataset=data))))


def test_fine_tuning_a_checkpoint_uses_the_small_learning_rates(tmp_path):
    """From a trained checkpoint: MODEL_SPEC's lr 1e-4 and backbone 1e-5; the checkpoint names its start."""
    start = save_checkpoint(
        tmp_path / "start.pt", build_model(TINY_CONFIG), {"name": "starter", "va_source": "derived"}
    )
    options = tiny_options(
        tmp_path / "run", model_config=None, start_checkpoint=start, stages="1", max_steps=1
    )
    events = list(train(options))
    started = next(e for e in events if isinstance(e, StageStarted))
    assert (started.lr, started.backbone_lr) == (1e-4, 1e-5)
    tuned = load_checkpoint(events[-1].model_path)
    assert tuned.metadata["name"] == "starter fine-tuned" and tuned.metadata["va_source"] == "derived"
    assert tuned.metadata["training"]["start_checkpoint"] == str(start)


def test_time_budget_stops_each_stage_and_still_leaves_checkpoints(tmp_path):
    """A budget already used up: no step is taken, yet every stage validates and writes its best."""
    events = list(train(tiny_options(tmp_path / "run", time_budget_s=1e-3)))
    assert not any(isinstance(e, StepDone) for e in events)
    assert [e.reason for e in events if isinstance(e, StageDone)] == ["time_budget", "time_budget"]
    assert isinstance(events[-1], RunFinished)
    assert load_checkpoint(events[-1].model_path).metadata["training"]["stage"] == 2


def test_stage_probes_train_with_the_run_resume_with_it_and_stay_out_of_checkpoints(tmp_path, monkeypatch):
    """lambda_stage > 0 adds the probes' loss to every step; their weights travel in resume.pt only."""
    out = tmp_path / "run"
    cancel = threading.Event()
    events = []
    for event in train(tiny_options(out, stages="1", epochs=(1, 1), lambda_stage=0.5), cancel):
        events.append(event)
        if isinstance(event, StepDone):
            cancel.set()
    losses = next(e for e in events if isinstance(e, StepDone)).losses
    assert {"stage_ce", "stage_ce_1", "stage_ce_4"} <= losses.keys()
    expected = losses["ce"] + 0.5 * losses["stage_ce"] + losses["consistency"]  # lambda_consistency 1.0
    assert losses["total"] == pytest.approx(expected, rel=1e-5)
    saved = torch.load(out / "resume.pt", weights_only=True)["probes"]
    assert sorted(saved) == [f"heads.{i}.{p}" for i in range(4) for p in ("bias", "weight")]
    checkpoint = torch.load(out / "stage1_last.pt", weights_only=True)
    assert not any("probe" in key for key in checkpoint["state_dict"])
    assert load_checkpoint(out / "stage1_last.pt").model.config == TINY_CONFIG  # a plain model

    with pytest.raises(ValueError, match="trained with stage probes"):
        next(iter(train(tiny_options(out, stages="1", epochs=(1, 1), lambda_stage=0.0, resume=True))))
    started_with = []

    class Recording(train_module.ProbedNetwork):
        def __init__(self, model, probes):
            started_with.append(probes.heads[1].weight.detach().clone())
            super().__init__(model, probes)

    monkeypatch.setattr(train_module, "ProbedNetwork", Recording)
    resumed = list(train(tiny_options(out, stages="1", epochs=(1, 1), lambda_stage=0.5, resume=True)))
    assert isinstance(resumed[-1], RunFinished)
    assert torch.equal(started_with[0], saved["heads.1.weight"])  # the resumed run began from them
    after = torch.load(out / "resume.pt", weights_only=True)["probes"]
    assert not torch.equal(after["heads.1.weight"], saved["heads.1.weight"])  # they kept training


def test_without_stage_probes_and_consistency_the_loss_is_the_paper_recipe(tmp_path):
    """lambda_stage = lambda_consistency = 0: no probe loss, no probe weights in resume.pt, no consistency."""
    out = tmp_path / "run"
    options = tiny_options(out, stages="1", max_steps=1, lambda_stage=0.0, lambda_consistency=0.0)
    events = list(train(options))
    losses = next(e for e in events if isinstance(e, StepDone)).losses
    assert set(losses) == {"ce", "soft_ce", "total"}
    assert torch.load(out / "resume.pt", weights_only=True)["probes"] is None


def test_attention_consistency_joins_both_stages_from_the_stride_8_map_on(tmp_path):
    """Both stages add lambda_consistency x the consistency loss of the stage pairs (2,3) and (3,4)."""
    options = tiny_options(tmp_path / "run", max_steps=1, lambda_stage=0.0, lambda_consistency=2.0)
    steps = [e for e in train(options) if isinstance(e, StepDone)]
    assert [e.stage for e in steps] == [1, 2]
    for step in steps:
        losses = step.losses
        assert {"consistency", "consistency_3", "consistency_4"} <= losses.keys()
        assert "consistency_2" not in losses  # the stride-4 map teaches nothing
        assert losses["consistency"] == pytest.approx((losses["consistency_3"] + losses["consistency_4"]) / 2)
    stage1 = steps[0].losses
    assert stage1["total"] == pytest.approx(stage1["ce"] + 2.0 * stage1["consistency"], rel=1e-5)
