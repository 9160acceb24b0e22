"""The multi-pass face finder and the detection benchmark's scoring, on scenes made from shipped faces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.core.bench.detection import benchmark_scenes, score_frame
from app.core.bench.scenes import Scene, TruthFace, closeup_scene, group_scene, width_bucket
from app.core.detection import Detection
from app.core.face_finder import (
    SHORT_BAND,
    SHORT_TILE_OVERLAP,
    SHORT_TOP_SHARE,
    TILE_OVERLAP,
    FaceFinder,
    FinderPlan,
    merge_detections,
    short_tile_windows,
    tile_windows,
)
from app.core.settings import DetectionSettings


@pytest.mark.parametrize(("size", "min_face"), [((1280, 720), 40), ((1920, 1080), 24), ((640, 480), 40)])
def test_every_face_of_each_band_lies_whole_in_some_tile(size, min_face):
    width, height = size
    windows = tile_windows(width, height, min_face)
    for side in sorted({x1 - x0 for x0, _, x1, _ in windows}):
        level = [w for w in windows if w[2] - w[0] == side]
        face = int(side * TILE_OVERLAP)  # the largest face of this level's band
        for x in range(0, width - face + 1, max(1, face // 2)):
            for y in range(0, height - face + 1, max(1, face // 2)):
                assert any(x0 <= x and x + face <= x1 and y0 <= y and y + face <= y1
                           for x0, y0, x1, y1 in level), (side, x, y)
    assert min(x1 - x0 for x0, _, x1, _ in windows) <= min_face * 8 * 1.25


@pytest.mark.parametrize(("size", "min_face"), [((1280, 720), 40), ((1920, 1080), 40), ((400, 400), 40)])
def test_every_face_up_to_half_a_short_range_tile_lies_whole_in_one(size, min_face):
    width, height = size
    windows = short_tile_windows(width, height, min_face)
    sides = sorted({x1 - x0 for x0, _, x1, _ in windows})
    assert sides[0] == round(min_face / SHORT_BAND)  # the smallest faces at a quarter of the tile
    assert all(b == 2 * a for a, b in zip(sides, sides[1:], strict=False))
    assert sides[-1] < SHORT_TOP_SHARE * min(width, height) <= 2 * sides[-1]  # larger faces: whole frame
    for side in sides:
        level = [w for w in windows if w[2] - w[0] == side]
        face = int(side * SHORT_TILE_OVERLAP)  # the largest face a tile of this level finds well
        for x in range(0, width - face + 1, max(1, face // 3)):
            for y in range(0, height - face + 1, max(1, face // 3)):
                assert any(x0 <= x and x + face <= x1 and y0 <= y and y + face <= y1
                           for x0, y0, x1, y1 in level), (side, x, y)
    assert short_tile_windows(width, height, 0) == []


def test_short_range_tiles_find_a_face_turned_aside_that_the_other_passes_miss():
    scene = benchmark_scenes(seed=0, groups=9, closeups=0)[8]  # the benchmark's 9th scene, as in BENCHMARKS
    (turned,) = [f for f in scene.faces if f.face_id == "faceapi_sample4_3"]  # 48 px, head turned, tilted
    alone = Scene(scene.image, (turned,), scene.kind)
    plan = DetectionSettings().plan(still=True)
    assert plan.short_tiles_px > 0
    hits = {}
    for name, chosen in (("without", replace(plan, short_tiles_px=0.0)), ("with", plan)):
        with FaceFinder(chosen) as finder:
            found = finder.detect(scene.image)
        hits[name] = score_frame(alone, found, 0.0).hits.get("40-64", 0)
        assert score_frame(scene, found, 0.0).duplicates == 0, name
    assert hits == {"without": 0, "with": 1}


def test_an_unsure_short_range_tile_face_needs_another_model_to_see_it(monkeypatch):
    scene = benchmark_scenes(seed=0, groups=9, closeups=0)[8]
    (turned,) = [f for f in scene.faces if f.face_id == "faceapi_sample4_3"]
    alone = Scene(scene.image, (turned,), scene.kind)
    plan = replace(DetectionSettings().plan(still=True), yunet=False)
    monkeypatch.setattr("app.core.face_finder.SHORT_TILE_SURE", 1.01)  # every short-range face unsure
    with FaceFinder(plan) as finder:
        monkeypatch.setattr(finder, "_seen_by_another_model", lambda frame, det: False)
        assert score_frame(alone, finder.detect(scene.image), 0.0).hits.get("40-64", 0) == 0
        monkeypatch.setattr(finder, "_seen_by_another_model", lambda frame, det: True)
        assert score_frame(alone, finder.detect(scene.image), 0.0).hits.get("40-64", 0) == 1


def test_merging_keeps_one_box_per_face_across_scales_in_pass_order():
    big = Detection((100, 100, 80, 80), 0.9)  # the whole-frame pass
    cut = Detection((100, 100, 60, 80), 0.95)  # the same face from a tile: inside the big box
    shifted = Detection((104, 102, 80, 80), 0.8)
    other = Detection((300, 100, 40, 40), 0.97)
    kept = merge_detections([[big], [cut, shifted, other]], merge_iou=0.3, merge_containment=0.6, limit=64)
    assert kept == [other, big]  # best score first; the face keeps the first pass's box
    assert merge_detections([[big], [other]], 0.3, 0.6, limit=1) == [other]


def test_scoring_counts_a_second_box_on_a_face_as_a_duplicate():
    scene = Scene(np.zeros((100, 100, 3), np.uint8), (TruthFace((10, 10, 30, 30), 30.0, "a"),), "group")
    found = [Detection((10, 10, 30, 30), 0.9), Detection((20, 20, 10, 10), 0.8),
             Detection((70, 70, 9, 9), 0.5)]
    score = score_frame(scene, found, 1.0)
    assert score.hits == {"24-40": 1} and score.false_positives == 2 and score.duplicates == 1
    misframed = score_frame(scene, [Detection((25, 25, 14, 14), 0.9)], 1.0)  # on the face, IoU < 0.4
    assert misframed.hits == {"24-40": 0} and misframed.false_positives == 1 and misframed.duplicates == 0
    assert width_bucket(20) == "16-24" and width_bucket(500) == "128+" and width_bucket(10) == ""


def test_the_pyramid_finds_far_faces_once_each_and_the_whole_frame_pass_finds_a_close_up():
    rng = np.random.default_rng(7)
    scene = group_scene(rng, (1280, 720), widths=[56, 80, 110, 160], max_rotation=0, cut_share=0)
    with FaceFinder(FinderPlan(whole=("short", "full"), min_face_px=40)) as finder:
        score = score_frame(scene, finder.detect(scene.image), 0.0)
        assert sum(score.hits.values()) == len(scene.faces) == 4
        assert score.false_positives == 0
        closeup = closeup_scene(rng, 160, 0.9)
        assert score_frame(closeup, finder.detect(closeup.image), 0.0).hits == {"closeup": 1}
    with FaceFinder(FinderPlan(whole=("short",))) as short_only:  # what the old default saw
        assert sum(score_frame(scene, short_only.detect(scene.image), 0.0).hits.values()) < 4


def test_a_tracked_region_is_searched_closely():
    rng = np.random.default_rng(3)
    scene = group_scene(rng, (1280, 720), widths=[48], max_rotation=0, cut_share=0)
    truth = scene.faces[0]
    with FaceFinder(FinderPlan(whole=("short",))) as finder:  # short range alone misses a 48 px face
        assert sum(score_frame(scene, finder.detect(scene.image), 0.0).hits.values()) == 0
        region = tuple(int(v) for v in truth.box)
        found = finder.detect(scene.image, regions=[region])
    assert sum(score_frame(scene, found, 0.0).hits.values()) == 1 and len(found) == 1
