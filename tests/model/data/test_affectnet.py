"""AffectNet loader on a fixture with every quirk of the real files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.data import DatasetError, make_loader, open_dataset
from model.data.affectnet import AFFECTNET_COLUMNS
from model.preprocessing import normalize
from tests.model.data.conftest import solid, write_csv, write_image

RED, GRAY = (200, 30, 30), (90, 90, 90)


def _face_image(path):
    """64x64 gray image with a red 32x32 'face' at (16, 8)."""
    img = solid(64, 64, GRAY)
    img[8:40, 16:48] = RED
    return write_image(path, img)


@pytest.fixture
def affectnet_dir(tmp_path):
    """AffectNet layout: training.csv beside Manually_Annotated_Images/ holding the images."""
    images = tmp_path / "Manually_Annotated_Images"
    for name in (
        "ok1",
        "ok2",
        "none",
        "novalab",
        "nine",
        "ten",
        "noneva",
        "outside",
        "bad1",
        "bad2",
        "bad3",
        "bad4",
        "bad5",
        "bad6",
    ):
        _face_image(images / "1" / f"{name}.jpg")
    (images / "1" / "garbage.jpg").write_bytes(b"this is not a picture" * 10)
    good = (images / "1" / "ok1.jpg").read_bytes()
    (images / "1" / "truncated.jpg").write_bytes(good[: len(good) // 2])  # header fine, body cut
    box = ["16", "8", "32", "32"]
    rows = [
        ["1/ok1.jpg", *box, "1;2;3", "1", "0.5", "0.25"],  # happy with V/A
        ["1/ok2.jpg", *box, "", "0", "-0.1", "0.0"],  # neutral
        ["1/none.jpg", *box, "", "8", "0.1", "-0.2"],  # None: V/A only
        ["1/novalab.jpg", *box, "", "6", "-2", "-2"],  # anger without V/A
        ["1/nine.jpg", *box, "", "9", "-2", "-2"],  # Uncertain: no label -> skipped
        ["1/ten.jpg", *box, "", "10", "0.3", "0.3"],  # No-Face: V/A excluded too -> skipped
        ["1/noneva.jpg", *box, "", "8", "-2", "-2"],  # None without V/A -> skipped
        ["1/missing.jpg", *box, "", "2", "-0.5", "-0.5"],
        ["1/garbage.jpg", *box, "", "2", "-0.5", "-0.5"],
        ["1/truncated.jpg", *box, "", "3", "0.2", "0.8"],  # found only when decoded
        ["1/outside.jpg", "500", "500", "20", "20", "", "4", "-0.6", "0.7"],
        ["1/bad1.jpg", *box, "", "happy", "0.5", "0.5"],
        ["1/bad2.jpg", "", "8", "32", "32", "", "1", "0.5", "0.5"],
        ["1/bad3.jpg", *box, "", "1", "1.5", "0.5"],
        ["1/bad4.jpg", *box],  # short row
        ["1/bad5.jpg", *box, "", "11", "0.5", "0.5"],
        ["1/bad6.jpg", "16", "8", "0", "32", "", "1", "0.5", "0.5"],  # zero width
    ]
    write_csv(tmp_path / "training.csv", list(AFFECTNET_COLUMNS), rows)
    return tmp_path


def test_rows_are_kept_labelled_or_skipped_by_reason(affectnet_dir, config):
    ds = open_dataset(affectnet_dir, "affectnet", "training", config, train=False)

    assert len(ds) == 5
    assert ds.skip_counts == {
        "unparsable_fields": 6,
        "missing_image": 1,
        "unreadable_image": 1,
        "box_outside_image": 1,
        "no_label": 3,
    }
    by_name = {p.rsplit("/", 1)[1]: i for i, p in enumerate(ds.paths())}
    assert set(by_name) == {"ok1.jpg", "ok2.jpg", "none.jpg", "novalab.jpg", "truncated.jpg"}
    labels, va = ds.expression_labels(), ds.valence_arousal_labels()
    assert labels.dtype == np.int64
    assert labels[by_name["ok1.jpg"]] == 1 and labels[by_name["none.jpg"]] == -1
    assert labels[by_name["novalab.jpg"]] == 6 and np.isnan(va[by_name["novalab.jpg"]]).all()
    np.testing.assert_allclose(va[by_name["none.jpg"]], [0.1, -0.2], rtol=1e-6)


def test_item_is_the_normalised_box_crop_with_labels(affectnet_dir, config):
    ds = open_dataset(affectnet_dir, "affectnet", "training", config, train=False)
    index = [p.endswith("ok1.jpg") for p in ds.paths()].index(True)

    item = ds[index]

    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == torch.float32
    red = normalize(torch.tensor(RED, dtype=torch.float32).view(1, 3, 1, 1) / 255, config)[0, :, 0, 0]
    centre = item["image"][:, 8:56, 8:56].mean(dim=(1, 2))  # JPEG blurs the very edge only
    np.testing.assert_allclose(centre.numpy(), red.numpy(), atol=0.06)
    assert item["expression"].dtype == torch.int64 and int(item["expression"]) == 1
    np.testing.assert_array_equal(item["valence_arousal"].numpy(), np.float32([0.5, 0.25]))
    assert item["soft_target"].shape == (8,) and torch.isnan(item["soft_target"]).all()
    assert item["path"].endswith("ok1.jpg")


def test_undecodable_image_is_counted_and_replaced_through_worker_processes(affectnet_dir, config):
    ds = open_dataset(affectnet_dir, "affectnet", "training", config, train=False)
    loader = make_loader(ds, batch_size=5, train=False, workers=1)

    batch = next(iter(loader))

    assert batch["image"].shape == (5, 3, 64, 64)
    assert not any(p.endswith("truncated.jpg") for p in batch["path"])
    assert ds.skip_counts["unreadable_image"] == 2  # garbage at indexing + truncated while loading
    assert "unreadable_image 2" in ds.describe()


def test_describe_reports_rows_skips_and_codes(affectnet_dir, config):
    text = open_dataset(affectnet_dir, "affectnet", "training", config).describe()

    assert "17 rows, 5 usable" in text
    assert "unparsable_fields 6" in text and "box_outside_image 1" in text and "no_label 3" in text
    assert "2 / 1 / 1" in text  # codes 8 (one kept for V/A, one without labels) / 9 / 10
    assert "valence/arousal -2: 2" in text


def test_skipped_rows_are_quoted_with_the_value_and_the_allowed_range(affectnet_dir, config):
    text = open_dataset(affectnet_dir, "affectnet", "training", config).describe()
    # the first three unparsable rows (bad1, bad2, bad3), each with its data row number and what is wrong
    assert "unparsable_fields: 6 rows skipped, e.g. data row 12:" in text
    assert "data row 14: valence/arousal 1.5, 0.5 outside [-1, 1]" in text
    assert "expression code 11" not in text  # only the first three are quoted (bad5 is the fifth)


def test_image_root_can_be_given(tmp_path, config):
    _face_image(tmp_path / "pictures" / "a.jpg")
    csv_path = write_csv(
        tmp_path / "labels" / "validation.csv",
        list(AFFECTNET_COLUMNS),
        [["a.jpg", "16", "8", "32", "32", "", "7", "-0.2", "-0.4"]],
    )

    ds = open_dataset(csv_path, "affectnet", "validation", config, image_root=tmp_path / "pictures")

    assert len(ds) == 1 and ds.expression_labels().tolist() == [7]


def test_file_with_wrong_columns_is_refused_naming_them(tmp_path, config):
    columns = [c for c in AFFECTNET_COLUMNS if c not in ("valence", "arousal")]
    csv_path = write_csv(tmp_path / "training.csv", columns, [])

    with pytest.raises(DatasetError) as error:
        open_dataset(tmp_path, "affectnet", "training", config)

    assert "valence, arousal" in str(error.value) and str(csv_path) in str(error.value)


def test_missing_split_csv_names_the_folder(tmp_path, config):
    with pytest.raises(DatasetError, match="no validation.csv"):
        open_dataset(tmp_path, "affectnet", "validation", config)


def test_dataset_without_usable_rows_is_refused(tmp_path, config):
    write_csv(
        tmp_path / "training.csv",
        list(AFFECTNET_COLUMNS),
        [["gone.jpg", "0", "0", "10", "10", "", "1", "0.1", "0.1"]],
    )

    with pytest.raises(DatasetError, match="no usable rows.*missing_image 1"):
        open_dataset(tmp_path, "affectnet", "training", config)


def test_decode_verification_finds_broken_bodies_up_front(affectnet_dir, config):
    ds = open_dataset(affectnet_dir, "affectnet", "training", config, verify="decode")

    assert len(ds) == 4 and ds.skip_counts["unreadable_image"] == 2
    assert not math.isnan(float(ds.valence_arousal_labels()[0, 0]))
