"""How well the live path keeps faces and their ids: generated sequences with known identities.

`python main.py bench --tracking` renders 1280x720, 30 fps sequences from the shipped faces
(app/core/bench/scenes.py) pasted over a background, each face on a known path, and runs the live
default on them frame by frame (`PipelineSettings().plan()` with its FaceTracker and re-identification,
as the pipeline does); `--video-file` finds the faces as `analyze` does in a video file instead
(`analysis.file_finder`: the same sweep, and the stills' search on a frame every second):

- "moving": three faces (60-200 px) drifting and bobbing across the frame;
- "crossing", "crossing_slow", "crossing_diagonal": two faces of similar size passing each other, one
  in front of the other (fast, slow and on crossing diagonals);
- "occlusion": a face hidden behind a grey board for 0.3 s, then visible again;
- "small": four far faces (40-64 px), only found by the tile sweep and kept by the tracker's regions;
- "leave_return": a face that walks out of the frame, stays out for 2 s and comes back.

Scoring, per frame: a face more than half covered by faces drawn over it (OCCLUDED_SHARE) counts as
hidden, like the face behind the board: while two faces coincide the detector sees one box, and which
of the two it is matched to says nothing about the tracker. Each visible true face is matched to at
most one reported face (IoU >= MATCH_IOU, best first). For every true face, an id switch is a match
whose id differs from the id of its previous match; a fragment is a gap (visible, unmatched) between
two matched stretches. Recall counts visible faces >= 40 px wide after the first second (the time a
tile sweep needs to find far faces). Reported faces matched to no true face are false positives; a
second report on a true face is a duplicate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.analysis import file_finder
from app.core.bench.scenes import FaceSprite, background, face_sprites, paste_face
from app.core.face_finder import FaceFinder
from app.core.reid import Reidentifier
from app.core.settings import DetectionSettings, PipelineSettings
from app.core.tracking import FaceTracker, TrackedFace, iou

SIZE, FPS = (1280, 720), 30.0
MATCH_IOU = 0.4
OCCLUDED_SHARE = 0.5  # a face covered more than this by faces in front of it is hidden
MIN_SCORED_WIDTH = 40.0  # recall is counted for faces at least this wide
WARMUP_S = 1.0  # recall starts after this: a far face is found by the sweep within it
FacePath = Callable[[float], tuple[float, float, float] | None]  # t -> (cx, cy, width), None: out of view


@dataclass(frozen=True)
class Walker:
    """One true face of a sequence: its sprite, its path, and when a board hides it."""

    identity: int
    sprite: FaceSprite
    path: FacePath
    hidden: tuple[float, float] | None = None  # (from_s, to_s) behind the board


@dataclass(frozen=True)
class Clip:
    """A named sequence: its walkers, length, and background seed."""

    name: str
    walkers: tuple[Walker, ...]
    seconds: float
    seed: int


def _linear(x0: float, y0: float, vx: float, vy: float, width: float, bob: float = 0.0) -> FacePath:
    return lambda t: (x0 + vx * t, y0 + vy * t + bob * math.sin(2.1 * t), width)


def sequences(seconds: float = 10.0) -> tuple[Clip, ...]:
    """The benchmark's sequences; each `seconds` long except the crossings (4-6 s) and occlusion (3 s)."""
    s = face_sprites()
    w, h = SIZE

    def leave_return(t: float) -> tuple[float, float, float] | None:
        period = seconds  # out through the left edge at ~1/3 of the run, back in after 2 s out of view
        out_at, back_at = period / 3, period / 3 + 2.0
        speed = 400.0
        if t < out_at:
            return 320 - speed * max(0.0, t - (out_at - 1.2)), 360, 120
        if t < back_at:
            return None
        return -160 + speed * min(1.2, t - back_at), 360, 120

    return (
        Clip("moving", (Walker(1, s[0], _linear(200, 200, 60, 10, 200, bob=20)),
                            Walker(2, s[5], _linear(900, 300, -50, 0, 110, bob=15)),
                            Walker(3, s[9], _linear(600, 560, 30, -8, 60, bob=10))), seconds, 1),
        Clip("crossing", (Walker(1, s[2], _linear(250, 360, 180, 0, 130)),
                              Walker(2, s[7], _linear(1030, 380, -180, 0, 120))), 4.0, 2),
        Clip("crossing_slow", (Walker(1, s[2], _linear(300, 360, 100, 0, 130)),
                               Walker(2, s[7], _linear(1000, 370, -100, 0, 120))), 6.0, 7),
        Clip("crossing_diagonal", (Walker(1, s[1], _linear(300, 250, 150, 40, 120)),
                                   Walker(2, s[10], _linear(1000, 450, -150, -40, 120))), 6.0, 7),
        Clip("occlusion", (Walker(1, s[4], _linear(500, 360, 40, 0, 140), hidden=(1.2, 1.5)),
                               Walker(2, s[11], _linear(1000, 250, -20, 0, 90))), 3.0, 3),
        Clip("small", tuple(Walker(i + 1, s[(3 * i + 1) % len(s)],
                                       _linear(200 + 280 * i, 250 + 60 * (i % 2), 15 - 10 * i, 0,
                                               42 + 6 * i))
                                for i in range(4)), seconds, 4),
        Clip("leave_return", (Walker(1, s[6], leave_return),
                                  Walker(2, s[13], _linear(900, 300, 0, 0, 150, bob=12))), seconds, 5),
    )


@dataclass(frozen=True)
class TruthBox:
    """A visible true face in one frame."""

    identity: int
    box: tuple[float, float, float, float]
    width: float
    hidden: bool = False  # behind the board or another face: a report there is the tracker carrying it


def render(sequence: Clip) -> Iterator[tuple[float, np.ndarray, list[TruthBox]]]:
    """(timestamp, frame (H,W,3) uint8 RGB, visible true faces) for every frame of `sequence`."""
    w, h = SIZE
    base = background(np.random.default_rng(sequence.seed), w, h)
    for i in range(int(round(sequence.seconds * FPS))):
        t = i / FPS
        frame = base.copy()
        truths = []
        for walker in sequence.walkers:
            place = walker.path(t)
            if place is None:
                continue
            cx, cy, width = place
            paste_face(frame, walker.sprite, width, cx, cy, 0.0)
            height = width * walker.sprite.box[3] / walker.sprite.box[2]
            x0, y0 = max(0.0, cx - width / 2), max(0.0, cy - height / 2)
            x1, y1 = min(float(w), cx + width / 2), min(float(h), cy + height / 2)
            if walker.hidden is not None and walker.hidden[0] <= t < walker.hidden[1]:
                board = (int(cx - 0.8 * width), int(cy - 0.9 * height), int(cx + 0.8 * width),
                         int(cy + height))
                frame[max(0, board[1]):board[3], max(0, board[0]):board[2]] = 128
                truths.append(TruthBox(walker.identity, (x0, y0, x1 - x0, y1 - y0), width, hidden=True))
                continue
            if (x1 - x0) * (y1 - y0) >= 0.5 * width * height:  # at least half of it in the frame
                truths.append(TruthBox(walker.identity, (x0, y0, x1 - x0, y1 - y0), width))
        yield t, frame, _behind_others(truths)


def _behind_others(truths: list[TruthBox]) -> list[TruthBox]:
    """`truths` (in pasting order: later ones are drawn on top) with every face more than half covered
    by the faces drawn over it marked hidden: the detector cannot see it, and which id the one visible
    box gets while two faces coincide says nothing about the tracker."""
    out = []
    for k, truth in enumerate(truths):
        x, y, w, h = truth.box
        covered = 0.0
        for above in truths[k + 1 :]:
            ax, ay, aw, ah = above.box
            overlap_x = max(0.0, min(x + w, ax + aw) - max(x, ax))
            covered += overlap_x * max(0.0, min(y + h, ay + ah) - max(y, ay))
        hidden = truth.hidden or covered > OCCLUDED_SHARE * w * h
        out.append(TruthBox(truth.identity, truth.box, truth.width, hidden))
    return out


@dataclass
class _TruthState:
    last_id: int | None = None
    gap: bool = False  # visible but unmatched since the last match


def score_sequence(sequence: Clip, settings: PipelineSettings | None = None,
                   video_file: DetectionSettings | None = None) -> dict[str, Any]:
    """Run the live default (or `settings`) on `sequence` and count as the module docstring says; with
    `video_file`, the faces are found as `analyze` finds them in a video file under those settings."""
    settings = settings or PipelineSettings()
    tracker = FaceTracker(settings.track_iou, settings.track_timeout_s, settings.track_coast_s)
    reid = Reidentifier() if settings.reidentify else None
    if video_file is not None:
        return _score(sequence, tracker, reid, video_file.max_faces, file_finder(video_file, still=False),
                      lambda finder, frame, t: finder.detect(frame, tracker.expected(t), t))
    return _score(sequence, tracker, reid, settings.max_faces, FaceFinder(settings.plan()),
                  lambda finder, frame, t: finder.detect(frame, tracker.expected(t)))


def _score(sequence: Clip, tracker: FaceTracker, reid: Reidentifier | None, limit: int, finder_cm: Any,
           detect: Callable[[Any, np.ndarray, float], list]) -> dict[str, Any]:
    """Score one sequence: `detect(finder, frame, t)` finds a frame's faces, the tracker and `reid` give
    them ids (as face_step.locate_faces does), at most `limit` are reported."""
    states: dict[int, _TruthState] = {}
    ids_per_identity: dict[int, set[int]] = {}
    counts = {"frames": 0, "switches": 0, "fragments": 0, "scored": 0, "found": 0, "false_positives": 0,
              "duplicates": 0, "tracked_rows": 0, "rows": 0, "carried_hidden": 0}
    ms = []
    with finder_cm as finder:
        for t, frame, truths in render(sequence):
            start = time.perf_counter()
            located = tracker.update(detect(finder, frame, t), t, (frame.shape[1], frame.shape[0]))
            if reid is not None:
                located = reid.observe(frame, located, tracker, t)
            located = located[:limit]
            ms.append((time.perf_counter() - start) * 1000.0)
            counts["frames"] += 1
            counts["rows"] += len(located)
            counts["tracked_rows"] += sum(not f.detected for f in located)
            hidden = [tr for tr in truths if tr.hidden]
            truths = [tr for tr in truths if not tr.hidden]
            matches = _match(truths, located)
            used = set(matches.values()) | set(_match(hidden, located).values())
            counts["carried_hidden"] += len(_match(hidden, located))
            for f in located:
                if id(f) in used:
                    continue
                on_a_face = any(iou(tr.box, f.detection.box) >= 0.1 for tr in truths)
                counts["duplicates" if on_a_face else "false_positives"] += 1
            for truth in truths:
                state = states.setdefault(truth.identity, _TruthState())
                face = next((f for f in located if id(f) == matches.get(truth.identity)), None)
                if t >= WARMUP_S and truth.width >= MIN_SCORED_WIDTH:
                    counts["scored"] += 1
                    counts["found"] += face is not None
                if face is None:
                    state.gap = state.last_id is not None
                    continue
                ids_per_identity.setdefault(truth.identity, set()).add(face.face_id)
                if state.last_id is not None and face.face_id != state.last_id:
                    counts["switches"] += 1
                if state.gap:
                    counts["fragments"] += 1
                state.last_id, state.gap = face.face_id, False
    per_k = 1000.0 / max(1, counts["frames"])
    return {
        **counts,
        "recall": counts["found"] / counts["scored"] if counts["scored"] else float("nan"),
        "switches_per_1000": counts["switches"] * per_k,
        "fragments_per_1000": counts["fragments"] * per_k,
        "ids_per_person": {str(k): len(v) for k, v in sorted(ids_per_identity.items())},
        "ms_per_frame": float(np.mean(ms)) if ms else float("nan"),
    }


def _match(truths: list[TruthBox], located: list[TrackedFace]) -> dict[int, int]:
    """identity -> id() of the reported face matched to it (IoU >= MATCH_IOU, best first)."""
    pairs = sorted(((iou(tr.box, f.detection.box), tr.identity, id(f)) for tr in truths for f in located),
                   reverse=True)
    out: dict[int, int] = {}
    taken: set[int] = set()
    for overlap, identity, key in pairs:
        if overlap < MATCH_IOU:
            break
        if identity not in out and key not in taken:
            out[identity] = key
            taken.add(key)
    return out


def run_tracking_benchmark(seconds: float = 10.0, progress: Callable[[str], None] = lambda m: None,
                           video_file: bool = False) -> dict[str, Any]:
    """Every sequence scored (the live default, or with `video_file` the `analyze` default of video
    files); the report keyed by sequence name, with totals."""
    results = {}
    for sequence in sequences(seconds):
        progress(f"tracking: {sequence.name}")
        results[sequence.name] = score_sequence(sequence,
                                                video_file=DetectionSettings() if video_file else None)
    frames = sum(r["frames"] for r in results.values())
    totals = {key: sum(r[key] for r in results.values())
              for key in ("switches", "fragments", "scored", "found")}
    return {"settings": {"size": f"{SIZE[0]}x{SIZE[1]}", "fps": FPS, "seconds": seconds,
                         "path": "analyze (video file)" if video_file else "live"},
            "results": results,
            "total": {"frames": frames, "recall": totals["found"] / max(1, totals["scored"]),
                      "switches_per_1000": 1000.0 * totals["switches"] / max(1, frames),
                      "fragments_per_1000": 1000.0 * totals["fragments"] / max(1, frames)}}


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table for docs/BENCHMARKS.md."""
    lines = ["| sequence | frames | recall >= 40 px | id switches | fragments | ids per person "
             "| tracked rows | false positives | duplicates | ms per frame |", "|---" * 10 + "|"]
    for name, r in report["results"].items():
        ids = ", ".join(str(n) for n in r["ids_per_person"].values())
        lines.append(f"| {name} | {r['frames']} | {r['recall']:.3f} | {r['switches']} | {r['fragments']} | "
                     f"{ids} | {r['tracked_rows']} of {r['rows']} | {r['false_positives']} | "
                     f"{r['duplicates']} | {r['ms_per_frame']:.1f} |")
    total = report["total"]
    lines.append(f"| all (per 1000 frames) | {total['frames']} | {total['recall']:.3f} | "
                 f"{total['switches_per_1000']:.1f} | {total['fragments_per_1000']:.1f} | | | | | |")
    return "\n".join(lines)
