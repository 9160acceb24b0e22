"""How many faces each detector configuration finds: recall per face width, precision, time per frame.

`python main.py bench --detection` runs every plan of `PLANS` over the same generated scenes
(app/core/bench/scenes.py: group scenes at 1280x720 and 1920x1080 with 1-12 faces of 16-400 px,
rotated, cut by the edge, blurred, dimmed, brightened and JPEG-compressed; and close-ups of one face
filling 50-100% of a 48-400 px image, grey and colour).

Matching: each true face is matched to at most one detection, greedily by IoU (>= `MATCH_IOU`, which
allows for the detectors framing a face a little differently); a detection matched to no face is a
false positive, and so is a second box on a face that already has one (IoU >= 0.1 with it, or its
centre inside it), which is also counted as a duplicate. A box on a face that no box matched (framed so
differently that IoU < MATCH_IOU) is a false positive and leaves the face missed, not a duplicate.
Recall is counted per width bucket (16-24, 24-40, 40-64, 64-128, 128+ px) and for close-ups; precision
is over every box.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.bench.scenes import WIDTH_BUCKETS, Scene, closeup_scene, group_scene, width_bucket
from app.core.detection import Detection
from app.core.face_finder import WHOLE_FRAME_MODELS, FaceFinder, FinderPlan, _iou_and_containment
from app.core.settings import DetectionSettings

MATCH_IOU = 0.4
DUPLICATE_IOU = 0.1


@dataclass(frozen=True)
class FrameScore:
    """One scene scored: matched true faces (by bucket), misses, false positives, duplicates, time."""

    hits: dict[str, int]
    totals: dict[str, int]
    false_positives: int
    duplicates: int
    ms: float


def score_frame(scene: Scene, found: Sequence[Detection], ms: float) -> FrameScore:
    """Match `found` to the scene's true faces (see the module docstring)."""
    pairs = sorted(((_iou_and_containment(t.box, d.box)[0], ti, di) for ti, t in enumerate(scene.faces)
                    for di, d in enumerate(found)), reverse=True)
    truth_to_det: dict[int, int] = {}
    used: set[int] = set()
    for iou, ti, di in pairs:
        if iou < MATCH_IOU:
            break
        if ti not in truth_to_det and di not in used:
            truth_to_det[ti] = di
            used.add(di)
    duplicates = false_positives = 0
    for di, det in enumerate(found):
        if di in used:
            continue
        cx, cy = det.box[0] + det.box[2] / 2, det.box[1] + det.box[3] / 2
        on_a_found_face = any(
            _iou_and_containment(t.box, det.box)[0] >= DUPLICATE_IOU
            or (t.box[0] <= cx <= t.box[0] + t.box[2] and t.box[1] <= cy <= t.box[1] + t.box[3])
            for ti, t in enumerate(scene.faces) if ti in truth_to_det
        )
        duplicates += on_a_found_face
        false_positives += 1
    hits: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for ti, face in enumerate(scene.faces):
        bucket = "closeup" if scene.kind == "closeup" else width_bucket(face.width)
        if not bucket:
            continue
        totals[bucket] += 1
        hits[bucket] += ti in truth_to_det
    return FrameScore(dict(hits), dict(totals), false_positives, duplicates, ms)


def benchmark_scenes(seed: int = 0, groups: int = 40, closeups: int = 40) -> list[Scene]:
    """The benchmark's scenes: `groups` group scenes (half 1280x720, half 1920x1080; a quarter each
    plain, blurred, dim or bright, with JPEG quality 30-95) and `closeups` close-ups."""
    rng = np.random.default_rng(seed)
    scenes = []
    conditions = ({}, {"blur": 1.2}, {"light": 0.45}, {"light": 1.5})
    for i in range(groups):
        size = (1280, 720) if i % 2 == 0 else (1920, 1080)
        condition = conditions[(i // 2) % len(conditions)]
        scenes.append(group_scene(rng, size, jpeg_quality=int(rng.integers(30, 96)), **condition))
    for i in range(closeups):
        side = int(np.exp(rng.uniform(np.log(48), np.log(400))))
        scenes.append(closeup_scene(rng, side, float(rng.uniform(0.5, 1.0)), gray=bool(i % 3 == 0),
                                    jpeg_quality=int(rng.integers(50, 96))))
    return scenes


def evaluate_plan(plan: FinderPlan, scenes: Iterable[Scene]) -> dict[str, Any]:
    """Recall per bucket, precision, duplicates and ms per frame (group and close-up) of one plan."""
    scores: list[tuple[str, FrameScore]] = []
    with FaceFinder(plan) as finder:
        for scene in scenes:
            start = time.perf_counter()
            found = finder.detect(scene.image)
            scores.append((scene.kind, score_frame(scene, found, (time.perf_counter() - start) * 1e3)))
    return summarize(scores)


def summarize(scores: Sequence[tuple[str, FrameScore]]) -> dict[str, Any]:
    """Totals over scored frames."""
    hits: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for _, s in scores:
        for k, v in s.totals.items():
            totals[k] += v
            hits[k] += s.hits.get(k, 0)
    tp = sum(hits.values())
    fp = sum(s.false_positives for _, s in scores)
    buckets = [width_bucket(low) for low, _ in WIDTH_BUCKETS] + ["closeup"]
    ms = {kind: float(np.mean([s.ms for k, s in scores if k == kind]) if any(k == kind for k, _ in scores)
                      else float("nan")) for kind in ("group", "closeup")}
    return {
        "recall": {b: (hits[b] / totals[b] if totals[b] else float("nan")) for b in buckets},
        "faces": {b: totals[b] for b in buckets},
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "false_positives": fp,
        "duplicates": sum(s.duplicates for _, s in scores),
        "ms_per_frame": ms,
    }


# The configurations compared; the defaults of app.core.settings are chosen from this table.
PLANS: dict[str, FinderPlan] = {
    "short": FinderPlan(whole=("short",)),
    "full": FinderPlan(whole=("full",)),
    "short+full": FinderPlan(whole=WHOLE_FRAME_MODELS),
    "short+full+pyramid40": FinderPlan(whole=WHOLE_FRAME_MODELS, min_face_px=40),
    "short+full+pyramid24": FinderPlan(whole=WHOLE_FRAME_MODELS, min_face_px=24),
    "short+full+pyramid16": FinderPlan(whole=WHOLE_FRAME_MODELS, min_face_px=16),
    "short+full+pyramid40+verify": FinderPlan(whole=WHOLE_FRAME_MODELS, min_face_px=40, verify=True),
    "short+full+pyramid24+verify": FinderPlan(whole=WHOLE_FRAME_MODELS, min_face_px=24, verify=True),
    "short+full+pyramid24+verify+yunet3": FinderPlan(
        whole=WHOLE_FRAME_MODELS, min_face_px=24, verify=True, yunet=True
    ),
    # the stills default (DetectionSettings, "auto"): the row above plus the short-range tiles from 40 px
    "short+full+pyramid24+verify+yunet3+short40": DetectionSettings().plan(still=True),
}


def run_detection_benchmark(plans: dict[str, FinderPlan] | None = None, seed: int = 0, groups: int = 40,
                            closeups: int = 40, progress: Callable[[str], None] = lambda m: None
                            ) -> dict[str, Any]:
    """Evaluate every plan on the same scenes; the report keyed by plan name."""
    scenes = benchmark_scenes(seed, groups, closeups)
    results = {}
    for name, plan in (plans or PLANS).items():
        progress(f"detection: {name}")
        results[name] = evaluate_plan(plan, scenes)
    return {"scenes": {"groups": groups, "closeups": closeups, "seed": seed}, "results": results}


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table: recall per bucket, precision, duplicates, ms per frame."""
    buckets = [width_bucket(low) for low, _ in WIDTH_BUCKETS] + ["closeup"]
    first = next(iter(report["results"].values()))
    head = " | ".join(f"{b} ({first['faces'][b]})" for b in buckets)
    lines = [f"| plan | {head} | precision | duplicates | ms group / close-up |",
             "|---" * (len(buckets) + 4) + "|"]
    for name, r in report["results"].items():
        recalls = " | ".join(f"{r['recall'][b]:.3f}" for b in buckets)
        ms = r["ms_per_frame"]
        lines.append(f"| {name} | {recalls} | {r['precision']:.3f} | {r['duplicates']} | "
                     f"{ms['group']:.0f} / {ms['closeup']:.1f} |")
    return "\n".join(lines)
