"""The distillation pool: augmented views of the training faces, labelled by the teacher ensemble.

`build_pool(plan, ...)` is a generator: it yields `PoolProgress` events and returns a `LabelledViews`
(images, the ensemble's soft targets in AffectNet order, each teacher's probabilities, where each view
came from). `ViewDataset` serves a `LabelledViews` to `model.train.train` with the dataset contract of
docs/ARCHITECTURE.md: no hard label (`expression` -1), the soft target, and valence/arousal *derived*
from the soft target with `model.circumplex.derived_va`.

How the 22 training faces become thousands of targets:
- views per face are shared out so that rarer teacher classes get more (`views_per_face`);
- every view is randomly augmented (model/distill/views.py) and labelled by the teachers; with
  `PoolPlan.label_clean` the teachers see it before the sensor degradations (blur, low resolution,
  noise, JPEG) and the student after them, so the student learns to read the face through them instead
  of copying the teachers' reactions to compression and noise (measured: docs/BENCHMARKS.md, "Face
  quality"; off by default);
- a share of views are pixel blends of two views of different faces (mixup), also labelled by the
  teachers (not by blending the two targets), so targets stay what the teachers say about the image;
- a share of views splice the upper face of one person onto the lower face of another (eyes and brows
  from one, mouth from the other), labelled by the teachers, so expression and identity come apart;
- optionally, procedural faces from `model.data.synthetic` (labelled by the teachers, their own
  drawing classes ignored) are added.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from model.circumplex import derived_va
from model.config import NUM_CLASSES, ModelConfig
from model.data.synthetic import render_face
from model.distill.teachers import TeacherEnsemble
from model.distill.views import FaceSource, ViewAugmentation, mix_views, render_view_pair, splice_views
from model.preprocessing import normalize

LABEL_BATCH = 128  # views per teacher forward pass
SYNTHETIC_IMAGE_SIDE = 160
SYNTHETIC_MARGIN = 0.05  # the synthetic box is the whole head ellipse, larger than a detector's box


class PoolCancelled(Exception):
    """The cancel event was set while the pool was being built."""


@dataclass(frozen=True)
class PoolPlan:
    """How many views of what: the recipe of one labelled pool."""

    views: int  # augmented views of the real faces (mixups included)
    mixup_fraction: float = 0.15  # share of `views` that blend two views of different faces
    mixup_weight: tuple[float, float] = (0.3, 0.7)  # weight of the first view in a blend
    splice_fraction: float = 0.0  # share of `views` that splice two faces at a random row
    splice_row: tuple[float, float] = (0.42, 0.62)  # splice height, fraction of the view from the top
    synthetic_faces: int = 0  # extra procedural faces (one augmented view each)
    balance_power: float = 0.5  # views per face proportional to (1 / faces of its class) ** power
    size: int = 112  # view side S (the student's input size)
    crop_margin: float = 0.2  # crop margin of every view (teachers and student see the same crop)
    augmentation: ViewAugmentation = field(default_factory=ViewAugmentation)
    label_clean: bool = False  # True: teachers label each view before its sensor degradations

    def __post_init__(self) -> None:
        if self.views < 1:
            raise ValueError(f"a pool needs at least one view of the real faces, got views={self.views}")
        if not (
            0.0 <= self.mixup_fraction
            and 0.0 <= self.splice_fraction
            and self.mixup_fraction + self.splice_fraction < 1.0
        ):
            raise ValueError(
                f"mixup_fraction {self.mixup_fraction} and splice_fraction {self.splice_fraction} must be "
                ">= 0 and sum to less than 1"
            )
        if self.synthetic_faces < 0 or self.balance_power < 0:
            raise ValueError("synthetic_faces and balance_power must be >= 0")


@dataclass(frozen=True)
class PoolProgress:
    """Progress of one pool step: `phase` ("render", "label"), `done` of `total` items."""

    name: str  # which pool ("train", "validation")
    phase: str
    done: int
    total: int


@dataclass
class LabelledViews:
    """Views and what the teachers say about them."""

    images: np.ndarray  # (N,S,S,3) uint8 RGB
    soft_targets: np.ndarray  # (N,8) float32 ensemble probabilities, AffectNet order (contempt 0)
    per_teacher: dict[str, np.ndarray]  # teacher name -> (N,8) float32, AffectNet order
    origins: list[str]  # per view: face id, "mix:<id>+<id>", "splice:<upper id>/<lower id>", "synthetic:<k>"

    def __len__(self) -> int:
        return len(self.images)

    @property
    def valence_arousal(self) -> np.ndarray:
        """(N,2) float32 valence/arousal derived from the soft targets (circumplex class means)."""
        return derived_va(self.soft_targets.astype(np.float32)).astype(np.float32)

    def class_counts(self) -> np.ndarray:
        """(8,) number of views per ensemble top-1 class."""
        return np.bincount(self.soft_targets.argmax(axis=1), minlength=NUM_CLASSES)

    def concatenate(self, other: LabelledViews) -> LabelledViews:
        """This pool followed by `other` (same teachers, same view side)."""
        if set(self.per_teacher) != set(other.per_teacher):
            raise ValueError("pools labelled by different teachers cannot be joined")
        return LabelledViews(
            np.concatenate([self.images, other.images]),
            np.concatenate([self.soft_targets, other.soft_targets]),
            {k: np.concatenate([v, other.per_teacher[k]]) for k, v in self.per_teacher.items()},
            self.origins + other.origins,
        )


def label_views(
    ensemble: TeacherEnsemble, images: np.ndarray, batch_size: int = LABEL_BATCH
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(N,S,S,3) uint8 views -> ((N,8) ensemble mean, {teacher: (N,8)}), AffectNet order, float32."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ensemble.names}
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            for name, p in ensemble.per_teacher(images[start : start + batch_size]).items():
                parts[name].append(p.cpu().numpy().astype(np.float32))  # (b,8)
    per_teacher = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    mean = np.mean(np.stack(list(per_teacher.values())), axis=0).astype(np.float32)  # (N,8)
    return mean, per_teacher


def canonical_top_classes(sources: Sequence[FaceSource], ensemble: TeacherEnsemble) -> np.ndarray:
    """(F,) the ensemble's top class on each face's un-augmented crop."""
    probabilities, _ = label_views(ensemble, np.stack([s.canonical() for s in sources]))
    return probabilities.argmax(axis=1)


def views_per_face(top_classes: Sequence[int], total: int, power: float) -> np.ndarray:
    """(F,) views per face summing to `total`: face weight (1 / faces sharing its top class) ** power.

    power 0 gives every face the same share; power 1 gives every class the same share.
    """
    top = np.asarray(top_classes, dtype=np.int64)
    if top.size == 0:
        raise ValueError("no faces to share views among")
    counts = np.bincount(top, minlength=NUM_CLASSES)[top].astype(np.float64)  # (F,)
    weights = counts ** (-power)
    share = weights / weights.sum() * total
    out = np.floor(share).astype(np.int64)
    remainder = total - int(out.sum())
    out[np.argsort(-(share - out), kind="stable")[:remainder]] += 1  # largest remainders first
    return out


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise PoolCancelled


class _Rendered:
    """Views as the student sees them and as the teachers label them (the same list when not clean)."""

    def __init__(self, label_clean: bool) -> None:
        self.label_clean = label_clean
        self.student: list[np.ndarray] = []
        self.teacher: list[np.ndarray] = []
        self.origins: list[str] = []

    def add(self, pair: tuple[np.ndarray, np.ndarray], origin: str) -> None:
        """Keep one (clean, degraded) pair."""
        self.teacher.append(pair[0] if self.label_clean else pair[1])
        self.student.append(pair[1])
        self.origins.append(origin)

    def pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The i-th (teacher's, student's) views."""
        return self.teacher[i], self.student[i]


def _render_real(
    name: str,
    sources: Sequence[tuple[str, FaceSource]],
    counts: np.ndarray,
    n_mix: int,
    n_splice: int,
    plan: PoolPlan,
    rng: np.random.Generator,
    cancel: threading.Event | None,
    out: _Rendered,
) -> Generator[PoolProgress, None, None]:
    """`counts` plain views per face, then `n_mix` blends and `n_splice` splices of two different faces,
    added to `out`; yields progress."""
    face_of: list[int] = []
    total = int(counts.sum()) + n_mix + n_splice
    for i, ((face_id, source), n) in enumerate(zip(sources, counts, strict=True)):
        for _ in range(int(n)):
            out.add(render_view_pair(source, rng, plan.augmentation), face_id)
            face_of.append(i)
        _check_cancel(cancel)
        if n:
            yield PoolProgress(name, "render", len(out.origins), total)
    n_plain = len(out.origins)
    face_index = np.asarray(face_of)
    for k in range(n_mix + n_splice):
        a = int(rng.integers(n_plain))
        others = np.flatnonzero(face_index != face_index[a])
        b = int(others[rng.integers(len(others))]) if len(others) else a
        (ta, sa), (tb, sb) = out.pair(a), out.pair(b)
        if k < n_mix:
            w = float(rng.uniform(*plan.mixup_weight))
            out.add((mix_views(ta, tb, w), mix_views(sa, sb, w)), f"mix:{out.origins[a]}+{out.origins[b]}")
        else:
            row = float(rng.uniform(*plan.splice_row))
            out.add(
                (splice_views(ta, tb, row), splice_views(sa, sb, row)),
                f"splice:{out.origins[a]}/{out.origins[b]}",
            )
        if (k + 1) % 256 == 0:
            _check_cancel(cancel)
    if n_mix + n_splice:
        yield PoolProgress(name, "render", len(out.origins), total)


def _render_synthetic(
    n: int, plan: PoolPlan, rng: np.random.Generator, cancel: threading.Event | None, out: _Rendered
) -> None:
    """`n` procedural faces of random drawing classes, one augmented view each, added to `out`."""
    for k in range(n):
        face = render_face(rng, int(rng.integers(NUM_CLASSES)), SYNTHETIC_IMAGE_SIDE)
        x, y, w, h = face.box
        source = FaceSource(face.image, (x, y, x + w, y + h), SYNTHETIC_MARGIN, plan.size)
        out.add(render_view_pair(source, rng, plan.augmentation), f"synthetic:{k}")
        if (k + 1) % 64 == 0:
            _check_cancel(cancel)


def build_pool(
    name: str,
    plan: PoolPlan,
    faces: Sequence[tuple[str, np.ndarray, tuple[int, int, int, int]]],
    ensemble: TeacherEnsemble,
    seed: int,
    cancel: threading.Event | None = None,
    top_classes: Sequence[int] | None = None,
) -> Generator[PoolProgress, None, LabelledViews]:
    """Render and label one pool; a generator that yields progress and returns the `LabelledViews`.

    faces: (id, uint8 RGB image, box [x0,y0,x1,y1]) of each real face. `top_classes`: the ensemble's
    top class on each face's canonical crop (`canonical_top_classes`; computed here when None), so
    `views_per_face` can favour the rarer teacher classes. Raises PoolCancelled when `cancel` is set.
    """
    if not faces:
        raise ValueError(f"pool {name!r}: no faces given")
    rng = np.random.default_rng(seed)
    sources = [(fid, FaceSource(image, box, plan.crop_margin, plan.size)) for fid, image, box in faces]
    if top_classes is None:
        top_classes = canonical_top_classes([s for _, s in sources], ensemble)
    if len(top_classes) != len(sources):
        raise ValueError(f"pool {name!r}: {len(top_classes)} top classes for {len(sources)} faces")
    n_mix = int(round(plan.views * plan.mixup_fraction)) if len(sources) > 1 else 0
    n_splice = int(round(plan.views * plan.splice_fraction)) if len(sources) > 1 else 0
    counts = views_per_face(top_classes, plan.views - n_mix - n_splice, plan.balance_power)
    rendered = _Rendered(plan.label_clean)
    yield from _render_real(name, sources, counts, n_mix, n_splice, plan, rng, cancel, rendered)
    if plan.synthetic_faces:
        _render_synthetic(plan.synthetic_faces, plan, rng, cancel, rendered)
        yield PoolProgress(name, "render", len(rendered.origins), len(rendered.origins))
    images = np.stack(rendered.student)  # (N,S,S,3)
    labelled = np.stack(rendered.teacher) if plan.label_clean else images  # (N,S,S,3)
    origins = rendered.origins
    del rendered
    soft_parts: list[np.ndarray] = []
    teacher_parts: dict[str, list[np.ndarray]] = {n: [] for n in ensemble.names}
    chunk = LABEL_BATCH * 4
    for start in range(0, len(images), chunk):
        _check_cancel(cancel)
        mean, per = label_views(ensemble, labelled[start : start + chunk])
        soft_parts.append(mean)
        for teacher, p in per.items():
            teacher_parts[teacher].append(p)
        yield PoolProgress(name, "label", min(start + chunk, len(images)), len(images))
    return LabelledViews(
        images,
        np.concatenate(soft_parts),
        {k: np.concatenate(v) for k, v in teacher_parts.items()},
        origins,
    )


class ViewDataset(Dataset):
    """A `LabelledViews` as a training/validation dataset for `model.train.train` (no further augmentation).

    Items: `image` (3,S,S) normalised with `config`, `expression` -1, `soft_target` (8,), derived
    `valence_arousal` (2,), `path` = the view's origin.
    """

    def __init__(self, views: LabelledViews, config: ModelConfig) -> None:
        if views.images.shape[1:] != (config.input_size, config.input_size, 3):
            raise ValueError(
                f"views are {views.images.shape[1:]}, the model takes "
                f"({config.input_size}, {config.input_size}, 3); build the pool at the model's input size"
            )
        self.views = views
        self.config = config
        self._soft = views.soft_targets.astype(np.float32)  # (N,8)
        self._va = views.valence_arousal  # (N,2)

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, index: int) -> dict:
        i = int(index)
        x = torch.from_numpy(self.views.images[i]).permute(2, 0, 1).float().div_(255.0)  # (3,S,S)
        return {
            "image": normalize(x[None], self.config)[0],  # (3,S,S)
            "expression": torch.tensor(-1, dtype=torch.int64),
            "soft_target": torch.from_numpy(self._soft[i].copy()),  # (8,)
            "valence_arousal": torch.from_numpy(self._va[i].copy()),  # (2,)
            "path": self.views.origins[i],
        }

    @property
    def skip_counts(self) -> dict[str, int]:
        """Nothing is skipped: every view decodes."""
        return {}

    def expression_labels(self) -> np.ndarray:
        """(N,) all -1: the views carry soft targets only."""
        return np.full(len(self), -1, dtype=np.int64)

    def valence_arousal_labels(self) -> np.ndarray:
        """(N,2) float32 derived valence/arousal."""
        return self._va.copy()

    def soft_target_labels(self) -> np.ndarray:
        """(N,8) float32 ensemble probabilities."""
        return self._soft.copy()
