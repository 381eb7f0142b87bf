"""The ROC AUC score sketch against scikit-learn, at any margin scale and any split layout."""
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from jobs.kernels import classification_sums
from jobs.records import merge_all, to_json
from jobs.sketch import auc_from_sketch, float_keys, merge_sketches, score_sketch


def _scores(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rng.random(n) < 1.0 / (1.0 + np.exp(-2.0 * x))


def _sketch_in_chunks(z, y, bounds, max_bins, order=None):
    parts = [score_sketch(z[lo:hi], y[lo:hi], max_bins) for lo, hi in zip(bounds, bounds[1:])]
    merged = parts[(order or range(len(parts)))[0]]
    for i in list(order or range(len(parts)))[1:]:
        merged = merge_sketches(merged, parts[i], max_bins)
    return merged


def test_keys_order_like_the_floats():
    z = np.array([-np.inf, -1e300, -2.0, -1.0, -1e-300, -0.0, 0.0, 5e-324, 1.0, 1e300, np.inf])
    keys = float_keys(z)
    assert np.all(np.diff(keys[:5]) > 0) and keys[5] == keys[6] and np.all(np.diff(keys[6:]) > 0)


def test_exact_with_ties_while_every_value_has_its_bin():
    x, y = _scores(3000)
    z = np.round(x, 1)  # many ties, counted one half as scikit-learn does
    assert auc_from_sketch(score_sketch(z, y)) == pytest.approx(roc_auc_score(y, z), abs=1e-14)


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (1e-3, 0.0), (1e-200, 0.0),
                                           (1e200, 0.0), (1e-7, 5.0), (1e-9, -30.0)])
def test_auc_matches_sklearn_at_any_scale_and_offset(scale, offset):
    x, y = _scores(100000)
    z = offset + scale * x
    sketch = _sketch_in_chunks(z, y, list(range(0, len(z), 8192)) + [len(z)], 1 << 13)
    assert sketch["level"] > 0  # the sketch did coarsen
    assert auc_from_sketch(sketch) == pytest.approx(roc_auc_score(y, z), abs=1e-3)


def test_auc_of_widely_spread_signed_margins():
    x, y = _scores(100000, seed=1)
    z = np.sign(x) * np.exp(30.0 * np.abs(x))  # from 1 to 1e40, both signs
    sketch = _sketch_in_chunks(z, y, [0, 50000, 100000], 1 << 13)
    assert auc_from_sketch(sketch) == pytest.approx(roc_auc_score(y, z), abs=1e-3)


def test_same_sketch_for_any_split_layout_and_merge_order():
    x, y = _scores(20000, seed=2)
    z = 3.0 + 1e-4 * x
    rng = np.random.default_rng(3)
    layouts = [[0, 20000], [0, 1, 7000, 20000], list(range(0, 20001, 1000)),
               [0] + sorted(rng.choice(np.arange(1, 20000), 40, replace=False).tolist()) + [20000]]
    sketches = [_sketch_in_chunks(z, y, b, 256) for b in layouts]
    sketches.append(_sketch_in_chunks(z, y, layouts[2], 256, order=rng.permutation(20).tolist()))
    reference = to_json(sketches[0])
    assert reference["level"] > 0
    for s in sketches[1:]:
        assert to_json(s) == reference


def test_records_merge_sketch_fields_through_json():
    x, y = _scores(5000, seed=4)
    X, theta = x[:, None], np.array([1e-6, 0.25])
    parts = [json.loads(json.dumps(to_json(classification_sums("logistic", X[i::3], y[i::3], theta))))
             for i in range(3)]
    merged = merge_all(parts)
    assert merged["n"] == 5000
    assert auc_from_sketch(merged["scores_sketch"]) == pytest.approx(
        roc_auc_score(y, X[:, 0] * 1e-6 + 0.25), abs=1e-3)


def test_evaluate_gives_the_same_auc_for_any_number_of_mappers(tmp_path):
    from conftest import write_csv
    from driver.evaluate import evaluate
    from driver.passes import Runner
    rng = np.random.default_rng(5)
    X = rng.standard_normal((20000, 2))
    y = (X[:, 0] + rng.standard_normal(20000) > 0).astype(float)
    path = write_csv(tmp_path / "d.csv", y, X)
    model = {"algo": "logistic", "loss": "logistic", "classes": [0, 1], "n_features": 2,
             "coef": [1e-6, 2e-7], "intercept": 3.0, "params": {}}
    aucs = []
    for mappers in (1, 2, 5):
        with Runner("inline", mappers=mappers) as runner:
            aucs.append(evaluate(model, [path], runner)["roc_auc"])
    assert aucs[0] == aucs[1] == aucs[2]
    assert aucs[0] == pytest.approx(roc_auc_score(y, 3.0 + X @ [1e-6, 2e-7]), abs=1e-3)
