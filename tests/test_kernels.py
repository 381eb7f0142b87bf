"""Kernels against finite differences, scikit-learn and hand-computed values."""
import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from jobs.kernels import (LOSSES, classification_sums, encode_labels, loss_sums, merge_moments,
                          moments, regression_sums)
from jobs.records import merge_all, to_json
from jobs.sketch import auc_from_sketch


@pytest.fixture
def block():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = (X @ [1.0, -2.0, 0.5, 0.0] + 0.3 * rng.standard_normal(200) > 0).astype(float)
    thetas = rng.standard_normal((3, 5)) * 0.5
    return X, y, thetas


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_matches_finite_differences(block, loss):
    X, y, thetas = block
    yy = encode_labels(y, loss)
    sums = loss_sums(loss, X, yy, thetas, order=2)
    eps = 1e-6
    for j, theta in enumerate(thetas):
        fd = np.array([(loss_sums(loss, X, yy, theta + eps * e, 0)["loss"][0]
                        - loss_sums(loss, X, yy, theta - eps * e, 0)["loss"][0]) / (2 * eps)
                       for e in np.eye(5)])
        np.testing.assert_allclose(sums["grad"][j], fd, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("loss", ["squared", "logistic", "squared_hinge"])
@pytest.mark.parametrize("hess_at", [0, 2])
def test_hessian_at_the_requested_candidate_matches_finite_differences(block, loss, hess_at):
    X, y, thetas = block
    yy = encode_labels(y, loss)
    sums = loss_sums(loss, X, yy, thetas, order=2, hess_at=hess_at)
    assert sums["hess"].shape == (5, 5)  # one Hessian, not one per candidate
    theta = thetas[hess_at]
    eps = 1e-6
    fd = np.array([(loss_sums(loss, X, yy, theta + eps * e, 1)["grad"][0]
                    - loss_sums(loss, X, yy, theta - eps * e, 1)["grad"][0]) / (2 * eps)
                   for e in np.eye(5)])
    # squared hinge: generalized Hessian, exact away from the kinks (no row sits on one)
    np.testing.assert_allclose(sums["hess"], fd, rtol=1e-4, atol=1e-4)


def test_logistic_loss_is_sklearn_log_loss_and_stable(block):
    X, y, thetas = block
    z = X @ thetas[0, :4] + thetas[0, 4]
    p = 1 / (1 + np.exp(-z))
    mean_loss = loss_sums("logistic", X, y, thetas[:1], 0)["loss"][0] / len(y)
    assert mean_loss == pytest.approx(log_loss(y, p), rel=1e-12)
    big = loss_sums("logistic", np.array([[1000.0], [-1000.0]]), np.array([0.0, 1.0]),
                    np.array([[1.0, 0.0]]), 2)
    assert big["loss"][0] == pytest.approx(2000.0)  # log(1 + e^1000) - 0, no overflow
    assert np.all(np.isfinite(big["grad"])) and np.all(np.isfinite(big["hess"]))


def test_hinge_losses_by_hand():
    X = np.array([[2.0], [0.5], [-1.0]])
    y = np.array([1.0, 1.0, -1.0])
    theta = np.array([[1.0, 0.0]])          # margins y z = 2, 0.5, 1
    hinge = loss_sums("hinge", X, y, theta, 1)
    assert hinge["loss"][0] == pytest.approx(0.5)            # only row 2: 1 - 0.5
    np.testing.assert_allclose(hinge["grad"][0], [-0.5, -1.0])
    sq = loss_sums("squared_hinge", X, y, theta, 2)
    assert sq["loss"][0] == pytest.approx(0.25)
    np.testing.assert_allclose(sq["grad"][0], [-2 * 0.5 * 0.5, -2 * 0.5])
    np.testing.assert_allclose(sq["hess"], [[2 * 0.25, 2 * 0.5], [2 * 0.5, 2.0]])


def test_labels_accept_zero_one_and_minus_one_one():
    np.testing.assert_array_equal(encode_labels(np.array([0.0, 1.0]), "hinge"), [-1, 1])
    np.testing.assert_array_equal(encode_labels(np.array([-1.0, 1.0]), "logistic"), [0, 1])


def test_moments_merged_in_blocks_keep_digits_of_ill_conditioned_data():
    # columns with a huge offset and tiny spread: raw X^T X loses every digit
    rng = np.random.default_rng(1)
    Z = 1e8 + rng.standard_normal((3000, 3))
    blocks = np.array_split(Z, 7)
    n, mean, scatter = moments(blocks[0])
    for b in blocks[1:]:
        n, mean, scatter = merge_moments((n, mean, scatter), moments(b))
    C = Z - Z.mean(axis=0)
    exact = C.T @ C
    scale = np.abs(exact).max()
    assert np.abs(scatter - exact).max() / scale < 1e-7  # ulp(1e8) bounds what is left
    raw = Z.T @ Z - n * np.outer(Z.mean(axis=0), Z.mean(axis=0))
    assert np.abs(raw - exact).max() / scale > 1e-2  # the naive way loses every digit
    assert n == 3000


def test_records_merge_sums_moments_labels_and_first_bad():
    a = {"n": 2, "loss": [1.0, 2.0], "labels": [0.0], "moments": moments(np.array([[1.0], [3.0]])),
         "first_bad": {"file": "f", "split_start": 100, "line_in_split": 1}, "bins": {"3": 1}}
    b = {"n": 1, "loss": [0.5, 0.5], "labels": [1.0], "moments": moments(np.array([[5.0]])),
         "first_bad": {"file": "f", "split_start": 0, "line_in_split": 9}, "bins": {"3": 2, "4": 1}}
    m = to_json(merge_all([a, b]))
    assert m["n"] == 3 and m["loss"] == [1.5, 2.5] and m["labels"] == [0.0, 1.0]
    assert m["moments"][0] == 3 and m["moments"][1] == [3.0] and m["moments"][2] == [[8.0]]
    assert m["first_bad"]["split_start"] == 0
    assert m["bins"] == {"3": 3, "4": 1}


def test_auc_from_margin_sketches_matches_sklearn(block):
    X, y, thetas = block
    halves = [classification_sums("logistic", Xh, yh, thetas[0])
              for Xh, yh in ((X[:90], y[:90]), (X[90:], y[90:]))]
    m = merge_all(halves)
    z = X @ thetas[0, :4] + thetas[0, 4]
    assert auc_from_sketch(m["scores_sketch"]) == pytest.approx(roc_auc_score(y, z), abs=1e-12)
    assert m["correct"] == np.sum((z > 0) == (y > 0))


def test_regression_sums_give_r2():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 1.0, 1.0, 3.0])
    s = regression_sums(X, y, np.array([1.0, 0.0]))
    assert s["sse"] == pytest.approx(1.0) and s["sae"] == pytest.approx(1.0)
    assert 1 - s["sse"] / s["y_moments"][2][0, 0] == pytest.approx(1 - 1.0 / 4.75)


def test_records_travel_compact_and_exact():
    """Float arrays of COMPACT_MIN_SIZE numbers or more travel in JSON text (pass
    parameters, a packing pass's record) as base64 float64:
    every bit back (signed zero, subnormals, extremes), smaller than JSON text, small
    arrays and other fields as JSON; a merge over the wire equals the merge in memory."""
    import json as json_module
    from jobs.records import COMPACT_MIN_SIZE, base64_array, from_wire, merge_records
    rng = np.random.default_rng(0)
    big = rng.standard_normal((3, COMPACT_MIN_SIZE))
    big[0, :4] = [-0.0, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308]
    record = {"n": 7, "grad": big, "loss": np.array([1.5, 2.5]), "labels": [0.0, 1.0],
              "fold_rfactors": [(3, np.zeros(2), big[1:])]}
    wire = json_module.loads(json_module.dumps(to_json(record, compact=base64_array)))
    assert len(json_module.dumps(wire)) < 0.6 * len(json_module.dumps(to_json(record)))
    back = from_wire(wire)
    assert back["grad"].tobytes() == big.tobytes() and back["grad"].dtype == np.float64
    assert back["loss"] == [1.5, 2.5] and back["n"] == 7 and back["labels"] == [0.0, 1.0]
    assert from_wire(wire, lists=True)["grad"] == big.tolist()
    other = {"n": 1, "grad": -big, "loss": np.array([1.0, 1.0])}
    merged = merge_records(from_wire(wire), from_wire(json_module.loads(json_module.dumps(
        to_json(other, compact=base64_array)))))
    direct = merge_records(record, other)
    assert np.array_equal(merged["grad"], direct["grad"]) and merged["n"] == 8


@pytest.mark.parametrize("loss", ["logistic", "squared_hinge"])
def test_fold_sums_split_loss_sums_by_fold(loss):
    """Per-fold sums add up to the whole block's, a Hessian leaving fold k out is the one of
    the other rows, for more candidates than one chunk (FOLD_CHUNK) and with weights."""
    from jobs.kernels import FOLD_CHUNK, fold_sums
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = encode_labels((rng.random(60) > 0.5).astype(float), loss)
    fold, w = rng.integers(0, 3, 60), rng.random(60)
    thetas = rng.normal(size=(FOLD_CHUNK + 7, 4))
    sums = fold_sums(loss, X, y, fold, 3, thetas, [(FOLD_CHUNK + 3, -1), (0, 2)], w)
    whole = loss_sums(loss, X, y, thetas, 2, FOLD_CHUNK + 3, w)
    np.testing.assert_allclose(sums["fold_loss"].sum(axis=1), whole["loss"], rtol=1e-12)
    np.testing.assert_allclose(sums["fold_grad"].sum(axis=1), whole["grad"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sums["fold_hess"][0], whole["hess"], rtol=1e-12)
    kept = fold != 2
    others = loss_sums(loss, X[kept], y[kept], thetas, 2, 0, w[kept])
    np.testing.assert_allclose(sums["fold_hess"][1], others["hess"], rtol=1e-12)
    assert sums["fold_weights"].tolist() == pytest.approx([w[fold == k].sum() for k in range(3)])
    right = (X @ thetas[5, :3] + thetas[5, 3] > 0) == (y > 0)
    assert sums["fold_correct"][5].sum() == pytest.approx(w[right].sum())
