"""Metrics against values worked out by hand, and the defined results for degenerate input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from model.metrics import (
    MetricError,
    accuracy,
    ccc,
    classification_report,
    confusion_matrix,
    macro_f1,
    mse,
    pcc,
    regression_report,
    rmse,
    sagr,
)

# y = [1,2,3,4], p = [2,2,3,5]
#   mean_y = 2.5, mean_p = 3; y - mean_y = [-1.5,-0.5,0.5,1.5]; p - mean_p = [-1,-1,0,2]
#   var_y = 5/4, var_p = 6/4, cov = (1.5 + 0.5 + 0 + 3)/4 = 5/4
#   CCC = 2 * 5/4 / (5/4 + 6/4 + (2.5-3)^2) = 2.5 / 3 = 5/6
#   PCC = (5/4) / sqrt(5/4 * 6/4) = 5 / sqrt(30)
#   errors [1,0,0,1]: MSE = 2/4 = 0.5, RMSE = sqrt(0.5)
Y = [1.0, 2.0, 3.0, 4.0]
P = [2.0, 2.0, 3.0, 5.0]


def test_regression_metrics_match_hand_values() -> None:
    assert ccc(Y, P) == pytest.approx(5 / 6)
    assert pcc(Y, P) == pytest.approx(5 / math.sqrt(30))
    assert mse(Y, P) == pytest.approx(0.5)
    assert rmse(Y, P) == pytest.approx(math.sqrt(0.5))


def test_pcc_agrees_with_numpy_on_random_data() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=50), rng.normal(size=50)
    assert pcc(y, p) == pytest.approx(np.corrcoef(y, p)[0, 1])


def test_sagr_counts_sign_agreement_with_zero_as_its_own_sign() -> None:
    # signs y: - 0 + + 0 ; p: - 0 - + +  -> agree, agree, no, agree, no = 3/5
    assert sagr([-0.5, 0.0, 0.3, 0.8, 0.0], [-0.1, 0.0, -0.2, 0.4, 0.1]) == pytest.approx(3 / 5)


def test_constant_predictions_give_zero_ccc_and_zero_pcc() -> None:
    assert ccc(Y, [2.0, 2.0, 2.0, 2.0]) == 0.0
    assert pcc(Y, [2.0, 2.0, 2.0, 2.0]) == 0.0
    # 0.1 is not exact in binary; the mean of a constant must still count as zero variance.
    assert ccc([0.1, 0.1, 0.1], [0.3, 0.2, 0.1]) == 0.0


def test_identical_constants_give_ccc_one_and_pcc_zero() -> None:
    assert ccc([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 1.0
    assert pcc([0.1, 0.1, 0.1], [0.1, 0.1, 0.1]) == 0.0


def test_one_sample_is_defined() -> None:
    assert ccc([0.5], [0.5]) == 1.0
    assert ccc([0.5], [0.2]) == 0.0
    assert pcc([0.5], [0.2]) == 0.0
    assert rmse([0.5], [0.2]) == pytest.approx(0.3)
    assert sagr([0.5], [-0.2]) == 0.0


def test_nan_and_inf_are_refused_naming_argument_and_count() -> None:
    with pytest.raises(MetricError, match=r"p holds 2 NaN/inf value\(s\) out of 4"):
        ccc(Y, [1.0, float("nan"), float("inf"), 2.0])
    with pytest.raises(MetricError, match=r"^y holds 1 NaN"):
        rmse([float("nan"), 1.0], [0.0, 1.0])


def test_empty_mismatched_and_non_vector_input_is_refused() -> None:
    with pytest.raises(MetricError, match="empty"):
        mse([], [])
    with pytest.raises(MetricError, match="y has 4 values but p has 3"):
        pcc(Y, [1.0, 2.0, 3.0])
    with pytest.raises(MetricError, match="one-dimensional"):
        ccc([[1.0, 2.0]], [[1.0, 2.0]])
    assert issubclass(MetricError, ValueError)


# y = [0,0,1,1,2,2], p = [0,1,1,1,2,0], 4 classes (class 3 never occurs)
#   confusion rows (true): 0 -> [1,1,0,0], 1 -> [0,2,0,0], 2 -> [1,0,1,0], 3 -> [0,0,0,0]
#   class 0: TP 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 1/2
#   class 1: TP 2, predicted 3, support 2 -> P 2/3, R 1,   F1 4/5
#   class 2: TP 1, predicted 1, support 2 -> P 1,   R 1/2, F1 2/3
#   accuracy 4/6; macro-F1 over classes 0..2 = (1/2 + 4/5 + 2/3) / 3
YC = [0, 0, 1, 1, 2, 2]
PC = [0, 1, 1, 1, 2, 0]
MACRO = (1 / 2 + 4 / 5 + 2 / 3) / 3


def test_classification_metrics_match_hand_values() -> None:
    assert accuracy(YC, PC) == pytest.approx(4 / 6)
    expected = [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(confusion_matrix(YC, PC, num_classes=4), expected)
    assert macro_f1(YC, PC, num_classes=4) == pytest.approx(MACRO)


def test_macro_f1_keeps_predicted_classes_without_support() -> None:
    # class 0: TP 1, predicted 1, support 2 -> F1 2/3; class 1: predicted once, no support -> F1 0
    assert macro_f1([0, 0], [0, 1], num_classes=3) == pytest.approx((2 / 3 + 0) / 2)


def test_class_ids_out_of_range_or_fractional_are_refused() -> None:
    with pytest.raises(MetricError, match="class id -1 outside 0..7"):
        confusion_matrix([0, -1], [0, 1])
    with pytest.raises(MetricError, match="class id 8 outside 0..7"):
        macro_f1([0, 1], [0, 8])
    with pytest.raises(MetricError, match="integer class ids"):
        accuracy([0.5, 1.0], [0, 1])


def test_regression_report_per_dimension_and_json_ready() -> None:
    y = np.stack([Y, [0.5, -0.5, 0.5, -0.5]], axis=1)  # (4,2)
    p = np.stack([P, [0.4, 0.4, 0.4, 0.4]], axis=1)  # (4,2)
    report = regression_report(y, p)
    assert report["valence"]["ccc"] == pytest.approx(5 / 6)
    assert report["valence"]["mse"] == pytest.approx(0.5)
    assert report["valence"]["n"] == 4
    # arousal: constant prediction 0.4 -> CCC 0, PCC 0, sign agreement on the two positive targets
    assert report["arousal"]["ccc"] == 0.0
    assert report["arousal"]["pcc"] == 0.0
    assert report["arousal"]["sagr"] == pytest.approx(0.5)
    assert report["arousal"]["mse"] == pytest.approx((0.01 + 0.81 + 0.01 + 0.81) / 4)
    assert json.loads(json.dumps(report)) == report


def test_regression_report_refuses_wrong_shape_and_names_the_dimension_with_nan() -> None:
    with pytest.raises(MetricError, match=r"shape \(N, 2\)"):
        regression_report([1.0, 2.0], [1.0, 2.0])
    y = np.array([[0.1, 0.2], [0.3, float("nan")]])
    with pytest.raises(MetricError, match="arousal"):
        regression_report(y, np.zeros((2, 2)))


def test_classification_report_contents() -> None:
    names = ["a", "b", "c", "d"]
    report = classification_report(YC, PC, names)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro_f1"] == pytest.approx(MACRO)
    assert report["confusion_matrix"] == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    assert report["n"] == 6
    assert report["per_class"]["b"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )
    assert report["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert json.loads(json.dumps(report)) == report
    with pytest.raises(MetricError, match="y_pred holds class id 4"):
        classification_report([0], [4], names)
