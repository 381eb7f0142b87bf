"""--standardize on libsvm input (driver/scaling.py): features divided by their sample
standard deviation (ddof 1, Spark's), never centered, constant columns by 1; the model
in original units. References: scikit-learn on ``X / std`` with ``std`` from numpy."""
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import driver.train
from conftest import fit, interrupted_and_straight, run_cli, theta_of
from driver.passes import run_pass
from driver.scaling import column_scale
from driver.train import TrainConfig, checkpoint_path
from jobs.parsing import SparseRows
from jobs.scaling import column_sums

L2 = 1e-2


def write_libsvm(path, X, y):
    """``X`` (n, d) dense, its zeros left out of the lines; labels as integers."""
    with open(path, "w") as f:
        for label, row in zip(y, X):
            f.write("%d %s\n" % (label, " ".join("%d:%.17g" % (j + 1, v)
                                                  for j, v in enumerate(row) if v != 0)))
    return str(path)


def libsvm_problem(path, n, d, density, seed, classes=2):
    """``(path, X, y)``: rows with a fraction ``density`` of their entries set, columns
    scaled by 1e-2 .. 1e2, column 1 equal to 0.1 in every row (std 0 in exact arithmetic,
    not in numpy's) and column 2 empty; labels from a linear model on the scaled rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-2, 2, d)
    X[rng.random((n, d)) > density] = 0.0
    X[:, 0], X[:, 1] = 0.1, 0.0
    scores = (X / reference_std(X)) @ rng.standard_normal((d, classes - 1))
    scores += 0.5 * rng.standard_normal(scores.shape)
    y = (scores[:, 0] > 0) if classes == 2 else np.argmax(np.column_stack(
        [np.zeros(n), scores]), axis=1)
    return write_libsvm(path, X, y), X, y.astype(float)


def reference_std(X):
    """numpy's unbiased std of each column, 1 where the column is constant."""
    std = X.std(axis=0, ddof=1)
    std[np.ptp(X, axis=0) == 0] = 1.0
    return std


def reference(X, y, multiclass=False):
    """scikit-learn on ``X / std`` (C = 1 / (l2 n)), coefficients back in original units:
    ``(coef, intercept, objective in scaled units)``."""
    std = reference_std(X)
    solver = "lbfgs" if multiclass else "newton-cholesky"
    sk = LogisticRegression(C=1 / (L2 * len(y)), solver=solver, tol=1e-14,
                            max_iter=100000).fit(X / std, y)
    coef = sk.coef_ if multiclass else sk.coef_[0]
    p = np.clip(sk.predict_proba(X / std), 1e-300, None)
    loss = -np.mean(np.log(p[np.arange(len(y)), np.searchsorted(sk.classes_, y)]))
    objective = loss + 0.5 * L2 * float(np.sum(sk.coef_ ** 2))
    return coef / std, (sk.intercept_ if multiclass else sk.intercept_[0]), objective


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    return libsvm_problem(tmp_path_factory.mktemp("narrow") / "narrow.svm", 300, 12, 0.6, 0)


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    return libsvm_problem(tmp_path_factory.mktemp("wide") / "wide.svm", 400, 700, 0.02, 1)


@pytest.fixture
def forced(monkeypatch):
    """``forced("sparse")`` parses narrow rows as sparse (coordinate) blocks,
    ``forced("dense")`` wide ones as dense arrays (the inline runner's tasks run here)."""
    def force(layout):
        limit = 4 if layout == "sparse" else 1024
        for module in ("jobs.parsing", "driver.inputs"):
            monkeypatch.setattr(module + ".DENSE_MAX_FEATURES", limit)
    return force


@pytest.fixture
def statistics_passes(monkeypatch):
    """The statistics passes a run makes (the training loop's passes go elsewhere)."""
    made = []

    def counted(job, params, *args, **kwargs):
        made.append(params.get("column_sums"))
        return run_pass(job, params, *args, **kwargs)

    monkeypatch.setattr(driver.train, "run_pass", counted)
    return made


def standardized(path, d, **options):
    options = dict(dict(l2=L2, tol=1e-14, max_iter=500), **options)
    return fit("logistic", path, standardize=True, n_features=d, **options)


# --- the statistics --------------------------------------------------------------------

def test_column_sums_of_sparse_rows_equal_the_dense_blocks_and_repeats_add_first():
    row, col = np.array([0, 0, 0, 1, 2, 2]), np.array([1, 3, 1, 0, 3, 2])
    val = np.array([1.5, -2.0, 0.5, 4.0, 3.0, -1.0])  # row 0 holds column 1 twice: 2.0
    X = SparseRows(row, col, val, (3, 5))
    np.testing.assert_array_equal(column_sums(X), column_sums(X.toarray()))
    np.testing.assert_array_equal(column_sums(X), [[4.0, 2.0, -1.0, 1.0, 0.0],
                                                  [16.0, 4.0, 1.0, 13.0, 0.0]])


def test_column_scale_is_the_unbiased_std_and_constant_columns_get_one(narrow):
    _, X, _ = narrow
    sums = column_sums(X[:100]) + column_sums(X[100:])  # two splits, merged by the sum
    std = column_scale({"n": len(X), "column_sums": sums.tolist()})["std"]
    assert X[:, 0].std(ddof=1) > 0  # 0.1 in every row: numpy's rounding says otherwise
    np.testing.assert_allclose(std, reference_std(X), rtol=1e-12)
    assert std[0] == std[1] == 1.0
    assert column_scale({"n": 1, "column_sums": [[2.0], [4.0]]})["std"] == [1.0]


# --- the fit against scikit-learn on X / std, every solver, dense and sparse rows ----------

TOLERANCE = {"newton": 1e-12, "lbfgs": 1e-6, "gd": 1e-6}
"""Largest coefficient difference to scikit-learn's, relative to the largest coefficient."""


@pytest.mark.parametrize("solver, layout", [("newton", "dense"), ("lbfgs", "dense"),
                                            ("lbfgs", "sparse"), ("gd", "dense"),
                                            ("gd", "sparse")])
def test_standardized_fit_equals_sklearn_on_x_over_std(narrow, forced, statistics_passes,
                                                       solver, layout):
    path, X, y = narrow
    forced(layout)
    model = standardized(path, X.shape[1], solver=solver)
    assert statistics_passes == []  # the first pass, at zero, measured the scale
    coef, intercept, objective = reference(X, y)
    scale = np.abs(coef).max()
    assert np.abs(np.array(model["coef"]) - coef).max() <= TOLERANCE[solver] * scale
    assert abs(model["intercept"] - intercept) <= TOLERANCE[solver] * max(1, abs(intercept))
    assert model["objective"] == pytest.approx(objective, rel=1e-10)  # scaled units
    assert model["history"][0]["objective"] == pytest.approx(np.log(2), rel=1e-15)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_sparse_and_dense_rows_give_the_same_model(narrow, forced, solver):
    path, X, _ = narrow
    dense = standardized(path, X.shape[1], solver=solver, max_iter=40)
    forced("sparse")
    sparse = standardized(path, X.shape[1], solver=solver, max_iter=40)
    np.testing.assert_allclose(theta_of(sparse), theta_of(dense), rtol=1e-9, atol=1e-12)


def test_wide_sparse_rows_equal_sklearn_and_their_dense_form(wide, forced):
    path, X, y = wide
    coef, intercept, objective = reference(X, y)
    sparse = standardized(path, X.shape[1], solver="lbfgs")
    giant = standardized(path, X.shape[1])  # the default solver of wide rows
    forced("dense")
    dense = standardized(path, X.shape[1], solver="lbfgs")
    for model in (sparse, giant):
        assert np.abs(np.array(model["coef"]) - coef).max() <= 1e-6 * np.abs(coef).max()
        assert model["intercept"] == pytest.approx(intercept, abs=1e-6)
        assert model["objective"] == pytest.approx(objective, rel=1e-10)
    np.testing.assert_allclose(theta_of(sparse), theta_of(dense), rtol=1e-9, atol=1e-12)


def test_multinomial_start_is_in_scaled_units(tmp_path):
    """The first (binary) pass's per-label sums, turned into scaled units, start the
    multinomial Newton fit."""
    path, X, y = libsvm_problem(tmp_path / "three.svm", 300, 8, 0.7, 2, classes=3)
    model = standardized(path, X.shape[1], tol=1e-12)
    coef, intercept, _ = reference(X, y, multiclass=True)
    assert model["multiclass"] == "multinomial"
    np.testing.assert_allclose(model["coef"], coef, atol=1e-6 * np.abs(coef).max())
    np.testing.assert_allclose(model["intercept"], intercept, atol=1e-6)


# --- solvers whose first pass is not at zero: one statistics pass ---------------------------

def test_sgd_measures_the_scale_in_a_pass_of_its_own(narrow, tmp_path, statistics_passes):
    """SGD on the standardized file equals SGD on the file numpy divided by std."""
    path, X, y = narrow
    std = reference_std(X)
    options = dict(solver="sgd", l2=L2, max_iter=5, batch_fraction=1.0)  # SGD samples rows
    # by a hash of their values: every row, so that both runs see the same
    model = standardized(path, X.shape[1], **options)
    assert statistics_passes == [True]
    scaled = fit("logistic", write_libsvm(tmp_path / "scaled.svm", X / std, y),
                 n_features=X.shape[1], **options)
    np.testing.assert_allclose(np.array(model["coef"]) * std, scaled["coef"], rtol=1e-9,
                               atol=1e-12)
    assert model["intercept"] == pytest.approx(scaled["intercept"], rel=1e-9)


def test_ridge_normal_equations_on_x_over_std(narrow):
    path, X, y = narrow
    model = fit("linear", path, standardize=True, n_features=X.shape[1], l2=L2)
    Z = X / reference_std(X)
    Zc, yc = Z - Z.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Zc.T @ Zc + len(y) * L2 * np.eye(Z.shape[1]), Zc.T @ yc)
    coef = w / reference_std(X)
    np.testing.assert_allclose(model["coef"], coef, rtol=1e-9, atol=1e-12 * np.abs(coef).max())
    assert model["intercept"] == pytest.approx(y.mean() - X.mean(axis=0) @ coef, rel=1e-9)


# --- resume ----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, solver", [("wide", "lbfgs"), ("narrow", "newton"),
                                          ("narrow", "sgd")])
def test_resume_keeps_the_checkpoints_scale(request, tmp_path, monkeypatch, data, solver):
    path, X, _ = request.getfixturevalue(data)
    config = TrainConfig("logistic", [path], solver=solver, l2=L2, tol=1e-12, max_iter=12,
                         standardize=True, n_features=X.shape[1])
    ckpt = str(tmp_path / "ckpt")
    resumed, straight = interrupted_and_straight(config, ckpt, 3)
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]
    assert [h["objective"] for h in resumed["history"]] == [
        h["objective"] for h in straight["history"]]
    with open(checkpoint_path(ckpt)) as f:
        std = json.load(f)["scale"]["std"]
    np.testing.assert_allclose(std, reference_std(X), rtol=1e-12)


def test_resume_refuses_a_damaged_scale_in_one_line(narrow, tmp_path, capsys):
    path, X, _ = narrow
    ckpt = tmp_path / "ckpt"
    argv = ["train", "--algo", "logistic", "--input", path, "--n-features", X.shape[1],
            "--standardize", "--max-iter", 2, "-q", "--model", tmp_path / "m.json",
            "--checkpoint-dir", ckpt]
    assert run_cli(*argv) == 0
    state = json.loads((ckpt / "checkpoint.json").read_text())
    state["scale"]["std"][3] = 0.0
    (ckpt / "checkpoint.json").write_text(json.dumps(state))
    assert run_cli(*(argv + ["--resume", "--max-iter", 5])) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--resume:" in err and "feature scale with a std <= 0" in err


@pytest.mark.local_runner
def test_local_runner_two_mappers_equal_the_inline_model(wide):
    path, X, _ = wide
    inline = standardized(path, X.shape[1], solver="lbfgs", max_iter=8)
    local = standardized(path, X.shape[1], solver="lbfgs", max_iter=8, runner="local",
                         mappers=2)
    np.testing.assert_allclose(theta_of(local), theta_of(inline), rtol=1e-9, atol=1e-12)
