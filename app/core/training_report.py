"""What the Training tab shows of a run (light: no torch): the evaluation events, the before/after metric
rows, and the whole run's progress with the time left. `app.core.training_job` produces the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model.train.options import TrainOptions

# (row title, path into model.evaluate.compute_metrics' result) of the before/after metric table
METRIC_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (  # the headline figures first (seen unscrolled)
    ("accuracy", ("expression", "accuracy")),
    ("macro-F1", ("expression", "macro_f1")),
    ("CCC valence", ("valence_arousal", "valence", "ccc")),
    ("CCC arousal", ("valence_arousal", "arousal", "ccc")),
    ("RMSE valence", ("valence_arousal", "valence", "rmse")),
    ("RMSE arousal", ("valence_arousal", "arousal", "rmse")),
    ("PCC valence", ("valence_arousal", "valence", "pcc")),
    ("PCC arousal", ("valence_arousal", "arousal", "pcc")),
    ("SAGR valence", ("valence_arousal", "valence", "sagr")),
    ("SAGR arousal", ("valence_arousal", "arousal", "sagr")),
    ("images", ("n_images",)),
)


@dataclass(frozen=True)
class EvaluationStarted:
    """An evaluation ("before" or "after") of `n_images` images begins."""

    which: str
    n_images: int


@dataclass(frozen=True)
class EvaluationDone:
    """The metrics (`compute_metrics`' dict) of the start weights ("before") or the result ("after")."""

    which: str
    metrics: dict[str, Any]
    model_name: str


def metric_value(metrics: Mapping[str, Any] | None, path: tuple[str, ...]) -> float | None:
    """The number at `path` in a metrics dict, None when that part is missing (e.g. no V/A labels)."""
    value: Any = metrics
    for key in path:
        if not isinstance(value, Mapping) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


class RunProgress:
    """How far a whole training run is (all stages and epochs), and about how long it still takes.

    Fed with the run's StageStarted / StepDone / StageDone events; a stage not started yet is assumed to
    take as many steps per epoch as the last one seen. Time left = remaining steps x the wall time per
    step measured so far (validations included), so it settles after the first epoch.
    """

    def __init__(self, options: TrainOptions) -> None:
        self.stages = options.stage_list()
        self.epochs = {s: options.epochs[s - 1] for s in self.stages}
        self.max_steps = options.max_steps
        self._steps_per_epoch: int | None = None
        self._planned: dict[int, int] = {}  # stage -> steps it will take (its actual steps once done)
        self._done: dict[int, int] = dict.fromkeys(self.stages, 0)
        self._first: tuple[float, int] | None = None  # (time, steps done) at the first step seen
        self._last: tuple[float, int] | None = None

    def _plan(self, stage: int) -> int:
        if stage in self._planned:
            return self._planned[stage]
        steps = self.epochs[stage] * (self._steps_per_epoch or 0)
        return min(steps, self.max_steps) if self.max_steps is not None else steps

    def stage_started(self, stage: int, steps_per_epoch: int) -> None:
        """A stage begins (or resumes) with `steps_per_epoch` steps per epoch."""
        self._steps_per_epoch = steps_per_epoch
        self._planned.pop(stage, None)

    def step_done(self, stage: int, stage_step: int, now: float) -> None:
        """The stage's `stage_step`-th step (counted over the stage, resumed ones included) ended at `now`."""
        self._done[stage] = stage_step
        done = self.steps_done
        if self._first is None:
            self._first = (now, done)
        self._last = (now, done)

    def stage_done(self, stage: int, steps: int) -> None:
        """A stage ended after `steps` steps (early stopping and time budgets end stages early)."""
        self._planned[stage] = self._done[stage] = steps

    @property
    def steps_done(self) -> int:
        """Steps taken so far, all stages together."""
        return sum(self._done.values())

    @property
    def steps_total(self) -> int:
        """Steps the whole run takes, as far as known now (0 before the first stage starts)."""
        return sum(max(self._plan(s), self._done[s]) for s in self.stages)

    def fraction(self) -> float:
        """Share of the run done, in [0, 1]."""
        total = self.steps_total
        return min(1.0, self.steps_done / total) if total else 0.0

    def seconds_left(self) -> float | None:
        """About how many seconds the run still needs; None until two steps were timed."""
        if self._first is None or self._last is None or self._last[1] <= self._first[1]:
            return None
        per_step = (self._last[0] - self._first[0]) / (self._last[1] - self._first[1])
        return max(0.0, (self.steps_total - self.steps_done) * per_step)


def describe_time_left(seconds: float | None) -> str:
    """'about 3 min left', 'about 40 s left', or '' when not known yet."""
    if seconds is None:
        return ""
    if seconds >= 90:
        return f"about {round(seconds / 60)} min left"
    return f"about {max(1, round(seconds / 5) * 5)} s left"
