"""Users' own data: the generic CSV and the folder-per-class layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.data import DatasetError, open_dataset
from model.data.generic import SOFT_TARGET_COLUMNS
from model.preprocessing import normalize
from tests.model.data.conftest import solid, write_csv, write_image

BLUE = (20, 40, 220)
HEADER = ["path", "valence", "arousal", "expression", "face_x", "face_y", "face_width", "face_height"]


def _rows_by_name(ds):
    return {p.rsplit("/", 1)[1]: i for i, p in enumerate(ds.paths())}


def test_generic_csv_labels_boxes_and_empty_fields(tmp_path, config):
    img = solid(40, 60, (100, 100, 100))
    img[10:30, 20:40] = BLUE
    for name in ("named", "coded", "va_only", "expr_only", "whole", "half_va", "unknown", "nolabel"):
        write_image(tmp_path / "img" / f"{name}.png", img)
    absolute = write_image(tmp_path / "elsewhere" / "abs.png", img)
    box = ["20", "10", "20", "20"]
    write_csv(
        tmp_path / "training.csv",
        HEADER,
        [
            ["img/named.png", "0.4", "0.1", "Happy", *box],
            ["img/coded.png", "", "", "3", *box],
            ["img/va_only.png", "-0.3", "0.6", "", *box],
            ["img/expr_only.png", "", "", "contempt", *box],
            ["img/whole.png", "0.2", "0.2", "neutral", "", "", "", ""],
            [str(absolute), "0.1", "0.1", "sad", *box],
            ["img/half_va.png", "0.3", "", "happy", *box],  # one of V/A empty -> unparsable
            ["img/unknown.png", "", "", "joy", *box],  # unknown class name -> unparsable
            ["img/nolabel.png", "", "", "", *box],  # nothing to learn from
        ],
    )

    ds = open_dataset(tmp_path, "csv", "training", config)

    assert ds.skip_counts["unparsable_fields"] == 2 and ds.skip_counts["no_label"] == 1
    rows = _rows_by_name(ds)
    labels, va = ds.expression_labels(), ds.valence_arousal_labels()
    assert labels[rows["named.png"]] == 1 and labels[rows["coded.png"]] == 3
    assert labels[rows["va_only.png"]] == -1 and labels[rows["expr_only.png"]] == 7
    assert labels[rows["abs.png"]] == 2
    assert np.isnan(va[rows["coded.png"]]).all()
    np.testing.assert_allclose(va[rows["va_only.png"]], [-0.3, 0.6], rtol=1e-6)
    blue = normalize(torch.tensor(BLUE, dtype=torch.float32).view(1, 3, 1, 1) / 255, config)  # (1,3,1,1)
    blue = blue[0, :, 0, 0].numpy()
    boxed = ds[rows["named.png"]]["image"].numpy()
    np.testing.assert_allclose(boxed[:, 4:60, 4:60].mean(axis=(1, 2)), blue, atol=0.02)
    whole = ds[rows["whole.png"]]["image"].numpy()  # no box: the whole 60x40 image, padded square
    assert whole[:, 32, 32] == pytest.approx(blue, abs=0.02)
    assert not np.allclose(whole[:, 4, 32], blue, atol=0.2)


def test_soft_targets_are_read_and_renormalised(tmp_path, config):
    write_image(tmp_path / "a.png", solid(32, 32, (50, 60, 70)))
    write_image(tmp_path / "b.png", solid(32, 32, (50, 60, 70)))
    probs = [0.5, 0.3, 0.2, 0, 0, 0, 0, 0.01]  # sums to 1.01: within tolerance
    write_csv(
        tmp_path / "soft.csv", ["path", *SOFT_TARGET_COLUMNS], [["a.png", *probs], ["b.png", *([""] * 8)]]
    )

    ds = open_dataset(tmp_path / "soft.csv", "csv", "training", config)

    assert len(ds) == 1 and ds.skip_counts["no_label"] == 1
    soft = ds[0]["soft_target"].numpy()
    assert soft.sum() == pytest.approx(1.0) and soft[0] == pytest.approx(0.5 / 1.01)
    assert int(ds[0]["expression"]) == -1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["path", "valence", "expression"], "missing column.*arousal"),
        (["path", "expression", "face_x", "face_y"], "missing column.*face_width, face_height"),
        (["path", "note"], "no label column"),
        (["image", "expression"], "missing column.*path"),
    ],
)
def test_inconsistent_generic_columns_are_refused(tmp_path, config, header, message):
    write_csv(tmp_path / "training.csv", header, [])

    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path, "csv", "training", config)


def test_class_folders_any_case_with_split_subfolder(tmp_path, config):
    for folder, n in (("Happy", 2), ("SAD", 1), ("contempt", 1)):
        for i in range(n):
            write_image(tmp_path / "validation" / folder / f"{i}.jpg", solid(48, 48, (10 * i, 80, 90)))
    (tmp_path / "validation" / "Happy" / "notes.txt").write_text("not an image")

    ds = open_dataset(tmp_path, "folder", "validation", config)

    assert sorted(ds.expression_labels().tolist()) == [1, 1, 2, 7]
    assert np.isnan(ds.valence_arousal_labels()).all()
    assert ds[0]["image"].shape == (3, 64, 64)


def test_unknown_class_folder_lists_valid_names(tmp_path, config):
    write_image(tmp_path / "joy" / "0.jpg", solid(16, 16, (0, 0, 0)))
    write_image(tmp_path / "happy" / "0.jpg", solid(16, 16, (0, 0, 0)))

    with pytest.raises(DatasetError) as error:
        open_dataset(tmp_path, "folder", "training", config)

    assert "joy" in str(error.value) and "neutral, happy, sad, surprise" in str(error.value)


def test_unknown_format_is_refused(tmp_path, config):
    with pytest.raises(DatasetError, match="affectnet, csv, folder"):
        open_dataset(tmp_path, "parquet", "training", config)
