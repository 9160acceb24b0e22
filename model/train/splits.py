"""The training and model-selection sets of a run, and the label checks and class balance drawn from them."""


from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from model.config import ModelConfig
from model.data import open_dataset
from model.data.layout import has_validation_split
from model.train.options import TrainOptions


# --- data ----------------------------------------------------------------------------------------
class LabelledView(Dataset):
    """A subset of a labelled dataset that keeps the label arrays (for class counts and checks)."""

    def __init__(self, base: Dataset, indices: np.ndarray | None = None) -> None:
        self.base = base
        self.indices = np.arange(len(base)) if indices is None else np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        return self.base[int(self.indices[index])]

    def _labels(self, method: str) -> np.ndarray:
        getter = getattr(self.base, method, None)
        if getter is None:
            raise TypeError(
                f"dataset {type(self.base).__name__} has no {method}(); use model.data.FaceDataset"
            )
        return np.asarray(getter())[self.indices]

    def expression_labels(self) -> np.ndarray:
        """(N,) int64 expression codes, -1 where unlabelled."""
        return self._labels("expression_labels")

    def valence_arousal_labels(self) -> np.ndarray:
        """(N,2) float32, NaN where absent."""
        return self._labels("valence_arousal_labels")

    def soft_target_labels(self) -> np.ndarray:
        """(N,8) float32, NaN rows where absent."""
        return self._labels("soft_target_labels")

    @property
    def skip_counts(self) -> dict[str, int]:
        """The underlying dataset's skip counts (empty when it keeps none)."""
        return dict(getattr(self.base, "skip_counts", {}) or {})


def open_train_val(options: TrainOptions, config: ModelConfig) -> tuple[LabelledView, LabelledView]:
    """The training set (augmented) and the model-selection set (evaluation transform), per `val_source`.

    The hold-out is a seeded random `val_fraction` of the training rows, the same for every resume.
    """
    if options.train_dataset is not None:
        train_base = options.train_dataset
        eval_base = options.train_dataset
        val_base = options.val_dataset
    else:
        path = Path(options.data).expanduser()
        kwargs = {"config": config, "image_root": options.image_root}
        train_base = open_dataset(path, options.format, "training", train=True, **kwargs)
        eval_base = open_dataset(path, options.format, "training", train=False, **kwargs)
        val_base = None
        if options.val_source == "validation":
            if not has_validation_split(path, options.format):
                raise ValueError(
                    f"{path} has no separate validation split (validation.csv or validation/); "
                    "use the hold-out (val_source 'holdout')"
                )
            val_base = open_dataset(path, options.format, "validation", train=False, **kwargs)
    if val_base is not None:  # an injected validation set, or the data's own validation split
        return LabelledView(train_base), LabelledView(val_base)
    n = len(train_base)
    n_val = int(round(n * options.val_fraction))
    if n_val < 1 or n - n_val < 1:
        raise ValueError(
            f"{n} training images are too few to hold out {options.val_fraction:.0%} for validation"
        )
    order = np.random.default_rng([options.seed, 7919]).permutation(n)
    return LabelledView(train_base, np.sort(order[n_val:])), LabelledView(eval_base, np.sort(order[:n_val]))


def check_labels(stage: int, view: LabelledView, what: str) -> None:
    """Refuse a stage whose set carries none of the labels it learns from."""
    if stage == 1:
        has = (view.expression_labels() >= 0) | np.isfinite(view.soft_target_labels()).all(axis=1)
        need = "expression labels (or soft targets)"
    else:
        has = np.isfinite(view.valence_arousal_labels()).all(axis=1)
        need = "valence/arousal labels"
    if not has.any():
        raise ValueError(f"stage {stage} needs {need}, but the {what} set has none; choose other --stages")


def class_counts(view: LabelledView, num_classes: int) -> np.ndarray:
    """(C,) number of hard-labelled rows per class."""
    labels = view.expression_labels()
    return np.bincount(labels[labels >= 0], minlength=num_classes)[:num_classes]


def balanced_weights(view: LabelledView, num_classes: int) -> np.ndarray:
    """(N,) sampling weight per item, 1/count of its class (rows without a class get the mean weight)."""
    labels = view.expression_labels()
    counts = class_counts(view, num_classes).astype(np.float64)
    inv = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)
    weights = np.where(labels >= 0, inv[np.clip(labels, 0, None)], 0.0)
    if (labels < 0).any():
        weights[labels < 0] = weights[labels >= 0].mean() if (labels >= 0).any() else 1.0
    return weights

