"""Elastic net, the regularization path and K-fold cross-validation of classifiers, all in
the passes of one Newton fit (issue 16), against scikit-learn and independent solvers."""
import json
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

import driver.path
from bench.path_cv import logistic_problem as bench_problem
from conftest import fit, interrupted_and_straight, run_cli, theta_of, write_csv
from driver.passes import Runner
from driver.prepare import prepare
from driver.errors import MrlearnError
from driver.train import TrainConfig, train
from jobs.folds import fold_of


def saga(X, y, lam, l1_ratio, sample_weight=None):
    """scikit-learn's elastic-net logistic regression at our penalty ``lam``."""
    total = len(y) if sample_weight is None else sample_weight.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 'penalty' deprecation of scikit-learn 1.8
        return LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=l1_ratio,
                                  C=1.0 / (lam * total), tol=1e-12, max_iter=1_000_000).fit(
            X, y, sample_weight=sample_weight)


def bound_constrained_reference(loss, X, y, lam, l1_ratio, start=None):
    """The elastic net of ``loss`` (logistic or squared_hinge, labels 0/1) by L-BFGS-B on
    ``w = w+ - w-`` (both >= 0): a smooth bound-constrained problem with the same minimizer.
    ``start``: a ``[w, b]`` to polish (saga's intercept converges slowly). Returns
    ``(theta, objective)``."""
    n, d = X.shape
    s = 2 * y - 1

    def objective(v):
        w, b = v[:d] - v[d:2 * d], v[-1]
        z = X @ w + b
        if loss == "logistic":
            value, gz = np.logaddexp(0.0, z) - y * z, (1.0 / (1.0 + np.exp(-z)) - y) / n
        else:
            slack = np.maximum(0.0, 1.0 - s * z)
            value, gz = slack ** 2, -2.0 * s * slack / n
        F = np.mean(value) + lam * (l1_ratio * v[:2 * d].sum() + (1 - l1_ratio) / 2 * w @ w)
        gw = X.T @ gz + lam * (1 - l1_ratio) * w
        return F, np.concatenate([gw + lam * l1_ratio, -gw + lam * l1_ratio, [gz.sum()]])

    v0 = np.zeros(2 * d + 1)
    if start is not None:
        v0[:d], v0[d:2 * d], v0[-1] = np.maximum(start[:d], 0), np.maximum(-start[:d], 0), start[d]
    found = minimize(objective, v0, jac=True, method="L-BFGS-B",
                     bounds=[(0, None)] * (2 * d) + [(None, None)],
                     options=dict(ftol=1e-16, gtol=1e-13, maxiter=100000, maxcor=30))
    return np.append(found.x[:d] - found.x[d:2 * d], found.x[-1]), found.fun


def logistic_problem(path, n, d=20, seed=1):
    """:func:`bench.path_cv.logistic_problem` written to ``path``: ``(path, X, y)``."""
    X, y = bench_problem(n, d, seed)
    return write_csv(path, y, X), X, y


def sklearn_cv_deviance(X, y, folds, lambdas, l1_ratio):
    """Held-out deviance (K, L) of scikit-learn fits on each fold's training rows (saga,
    polished by :func:`bound_constrained_reference`)."""
    out = np.empty((folds.max() + 1, len(lambdas)))
    for k in range(folds.max() + 1):
        train, test = folds != k, folds == k
        for i, lam in enumerate(lambdas):
            est = saga(X[train], y[train], lam, l1_ratio)
            theta, _ = bound_constrained_reference("logistic", X[train], y[train], lam,
                                                   l1_ratio, np.append(est.coef_, est.intercept_))
            z = X[test] @ theta[:-1] + theta[-1]
            out[k, i] = 2 * log_loss(y[test], 1.0 / (1.0 + np.exp(-z)))
    return out


# --- one penalty: proximal Newton ------------------------------------------------------------------

def test_logistic_path_equals_saga_at_every_lambda(cancer):
    """Issue 16's bar on breast_cancer: a 20-lambda elastic-net path, coefficients equal to
    scikit-learn's saga at tol 1e-12 to 1e-6, the same zeros; all in one fit's passes."""
    path, X, y = cancer
    model = fit("logistic", path, lambdas="auto", l1_ratio=0.5, tol=1e-8)
    grid = model["path"]["lambdas"]
    assert len(grid) == 20 and model["path"]["n_nonzero"][0] == 0
    smallest = fit("logistic", path, l2=grid[-1], l1_ratio=0.5, tol=1e-8)
    assert model["converged"] and model["n_passes"] <= 2 * smallest["n_passes"]
    for lam, coef, intercept in zip(grid, model["path"]["coef"], model["path"]["intercept"]):
        sk = saga(X, y, lam, 0.5)
        np.testing.assert_allclose(coef, sk.coef_[0], atol=1e-6)
        assert intercept == pytest.approx(sk.intercept_[0], abs=1e-6)
        assert (np.asarray(coef) == 0).tolist() == (sk.coef_[0] == 0).tolist()
    single = fit("logistic", path, l2=grid[7], l1_ratio=0.5, tol=1e-8)
    np.testing.assert_allclose(theta_of(single), np.append(model["path"]["coef"][7],
                                                           model["path"]["intercept"][7]),
                               atol=1e-7)
    assert single["n_nonzero"] == model["path"]["n_nonzero"][7]
    assert single["history"][-1]["n_nonzero"] == single["n_nonzero"]


def test_weighted_elastic_net_equals_sample_weight(cancer, tmp_path):
    _, X, y = cancer
    w = np.random.default_rng(0).integers(1, 4, len(y)).astype(float)
    path = write_csv(tmp_path / "w.csv", y, np.column_stack([X, w]))
    model = fit("logistic", path, l2=0.01, l1_ratio=0.8, weight_col=31, tol=1e-10)
    sk = saga(X, y, 0.01, 0.8, sample_weight=w)
    np.testing.assert_allclose(model["coef"], sk.coef_[0], atol=1e-6)
    assert (np.asarray(model["coef"]) == 0).tolist() == (sk.coef_[0] == 0).tolist()


@pytest.mark.parametrize("lam, l1_ratio", [(0.05, 1.0), (0.01, 0.7), (1e-3, 0.3)])
def test_svm_elastic_net_equals_bound_constrained_reference(cancer, lam, l1_ratio):
    path, X, y = cancer
    model = fit("svm", path, l2=lam, l1_ratio=l1_ratio, tol=1e-10)
    theta, objective = bound_constrained_reference("squared_hinge", X, y, lam, l1_ratio)
    assert model["objective"] <= objective + 1e-12  # never worse than the reference
    assert model["objective"] == pytest.approx(objective, rel=1e-10)
    np.testing.assert_allclose(theta_of(model), theta, atol=1e-4)
    assert model["n_nonzero"] == np.count_nonzero(np.abs(theta[:-1]) > 1e-6)


# --- path x cross-validation ------------------------------------------------------------------------

def test_path_times_cv_costs_no_more_passes_than_one_fit(tmp_path):
    """Issue 16's bar: a 20-lambda path x 5-fold CV (120 models) on 100k rows x 20 features
    in at most 2x the passes of one Newton fit at the smallest lambda."""
    path, X, y = logistic_problem(tmp_path / "big.csv", 100_000)
    model = fit("logistic", path, lambdas="auto", cv=5, l1_ratio=0.5, seed=3)
    grid = model["path"]["lambdas"]
    single = fit("logistic", path, l2=grid[-1], l1_ratio=0.5)
    assert model["converged"] and model["n_passes"] <= 2 * single["n_passes"]
    assert model["history"][0]["candidates"] == 1  # every model starts at the same zero
    assert model["history"][1]["running"] == 120
    np.testing.assert_allclose(model["path"]["coef"][-1], single["coef"], atol=1e-6)
    cv = model["cv"]
    assert cv["fold_sizes"] == np.bincount(fold_of(np.column_stack([X, y]), 3, 5)).tolist()
    assert cv["lambda_min"] == grid[int(np.argmin(cv["cvm"]))]
    assert model["l2"] == cv["lambda_min"]
    i = grid.index(cv["lambda_min"])
    np.testing.assert_allclose(model["coef"], model["path"]["coef"][i])


def test_cv_curve_equals_refitting_every_fold_and_lambda(tmp_path):
    """The held-out deviance of every fold and lambda equals scikit-learn refitting that
    fold's training rows at that lambda (1e-6), the same lambda_min and lambda_1se; the
    accuracy column is that of those refits."""
    path, X, y = logistic_problem(tmp_path / "p.csv", 6000, d=10, seed=4)
    model = fit("logistic", path, lambdas="auto", cv=5, l1_ratio=0.9, seed=7, tol=1e-10,
                mappers=3)
    cv, grid = model["cv"], model["path"]["lambdas"]
    folds = fold_of(np.column_stack([X, y]), 7, 5)
    reference = sklearn_cv_deviance(X, y, folds, grid, 0.9)
    np.testing.assert_allclose(cv["errors"], reference, rtol=1e-6)
    sizes = np.bincount(folds)
    cvm = sizes @ reference / sizes.sum()
    assert cv["lambda_min"] == grid[int(np.argmin(cvm))]
    cvsd = np.sqrt(sizes @ (reference - cvm) ** 2 / sizes.sum() / 4)
    best = int(np.argmin(cvm))
    assert cv["lambda_1se"] == grid[int(np.flatnonzero(cvm <= cvm[best] + cvsd[best]).min())]
    test = folds == 0
    est = saga(X[~test], y[~test], grid[best], 0.9)
    accuracy0 = np.mean(est.predict(X[test]) == y[test])
    one = fit("logistic", path, lambdas="auto", cv=5, l1_ratio=0.9, seed=7, tol=1e-10)
    np.testing.assert_allclose(one["cv"]["errors"], cv["errors"], rtol=1e-9)
    assert accuracy0 > 0.6 and cv["accuracy"][best] > 0.6


def test_hessian_budget_runs_models_in_turns_to_the_same_path(cancer, monkeypatch):
    path = cancer[0]
    options = dict(lambdas=[0.1, 0.03, 0.01], cv=3, l1_ratio=0.5, tol=1e-10)
    together = fit("logistic", path, **options)
    monkeypatch.setattr(driver.path, "HESSIAN_BUDGET", 2 * 31 ** 2)
    in_turns = fit("logistic", path, **options)
    assert max(h["running"] for h in in_turns["history"][1:]) == 2
    assert in_turns["n_passes"] > together["n_passes"]
    np.testing.assert_allclose(in_turns["path"]["coef"], together["path"]["coef"], atol=1e-12)
    np.testing.assert_allclose(in_turns["cv"]["cvm"], together["cv"]["cvm"], rtol=1e-12)


def test_max_iter_before_every_model_ran_is_one_line_and_resumable(cancer, tmp_path,
                                                                   monkeypatch):
    """Models in turns and too few passes: a clear refusal naming the fix, not a crash; the
    checkpoint resumes with a larger --max-iter to the same path as a straight run."""
    monkeypatch.setattr(driver.path, "HESSIAN_BUDGET", 2 * 31 ** 2)
    options = dict(lambdas=[0.1, 0.03, 0.01], l1_ratio=0.5, tol=1e-8)
    checkpoints = tmp_path / "ck"
    with Runner("inline") as runner:
        with pytest.raises(MrlearnError, match="--max-iter ended the path before 1 of its 3 "
                                               "models ran"):
            train(TrainConfig("logistic", [cancer[0]], max_iter=3, **options), runner,
                  str(checkpoints))
        resumed = train(TrainConfig("logistic", [cancer[0]], max_iter=100, **options), runner,
                        str(checkpoints), resume=True)
    straight = fit("logistic", cancer[0], **options)
    assert resumed["path"]["coef"] == straight["path"]["coef"]


def test_resumed_path_ends_as_straight(cancer, tmp_path):
    config = TrainConfig("svm", [cancer[0]], lambdas=[0.1, 0.01, 0.001], cv=3, l1_ratio=0.5)
    resumed, straight = interrupted_and_straight(config, str(tmp_path / "ck"), 3)
    assert resumed["path"] == straight["path"] and resumed["cv"] == straight["cv"]
    assert resumed["coef"] == straight["coef"]


def test_ridge_path_of_standardized_features_is_in_original_units(cancer, tmp_path):
    """--standardize: every model of the path, and the one chosen, in the input's units."""
    _, X, y = cancer
    raw = X * np.arange(1, 31) + 5.0
    packed = str(tmp_path / "packed")
    with Runner("inline") as runner:
        prepare([write_csv(tmp_path / "raw.csv", y, raw)], packed, runner)
    options = dict(lambdas=[0.1, 0.01], l1_ratio=0.0, tol=1e-10)
    scaled = fit("logistic", packed, standardize=True, **options)
    plain = fit("logistic", cancer[0], **options)
    std = raw.std(axis=0)
    for i in range(2):
        np.testing.assert_allclose(np.asarray(scaled["path"]["coef"][i]) * std,
                                   plain["path"]["coef"][i], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(scaled["coef"], scaled["path"]["coef"][-1])
    for lam, coef in zip([0.1, 0.01], plain["path"]["coef"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LogisticRegression(C=1 / (lam * len(y)), tol=1e-12, max_iter=10000).fit(X, y)
        np.testing.assert_allclose(coef, sk.coef_[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("source", ["libsvm", "packed"])
def test_path_cv_on_every_input_format_equals_csv(cancer, tmp_path, source):
    """The folds hash each row's values, so libsvm and prepare's packed blocks give the
    CSV's folds, path and CV curve."""
    path, X, y = cancer
    if source == "libsvm":
        other = str(tmp_path / "c.svm")
        with open(other, "w") as f:
            for label, row in zip(y, X):
                f.write("%d %s\n" % (label, " ".join("%d:%.17g" % (j + 1, v)
                                                     for j, v in enumerate(row))))
        extra = {"n_features": 30}
    else:
        other = str(tmp_path / "packed")
        with Runner("inline") as runner:
            prepare([path], other, runner, parts=2)
        extra = {}
    options = dict(lambdas=[0.05, 0.01, 0.002], cv=4, l1_ratio=0.5, seed=2)
    csv = fit("logistic", path, **options)
    model = fit("logistic", other, **options, **extra)
    np.testing.assert_allclose(model["cv"]["errors"], csv["cv"]["errors"], rtol=1e-9)
    np.testing.assert_allclose(model["path"]["coef"], csv["path"]["coef"], atol=1e-9)


def test_cli_prints_the_cv_table_and_the_model_predicts(cancer, tmp_path, capsys):
    model_path = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", cancer[0], "--model", model_path,
                   "--l1-ratio", "1", "--cv", "3", "--lambdas", "1e-3:1e-1:5", "-q") == 0
    err = capsys.readouterr().err
    assert "3-fold cross-validation, held-out deviance:" in err and "<- lambda_min" in err
    assert "accuracy" in err
    model = json.loads(model_path.read_text())
    assert model["path"]["lambdas"] == pytest.approx(np.geomspace(0.1, 1e-3, 5).tolist())
    assert "unavailable" in model["summary"]
    assert run_cli("evaluate", "--model", model_path, "--input", cancer[0], "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] > 0.95


@pytest.mark.parametrize("algo", ["logistic", "linear"])
def test_cv_with_an_empty_fold_is_refused_in_one_line(tmp_path, capsys, algo):
    path = write_csv(tmp_path / "tiny.csv", np.array([0, 1, 0, 1.0]),
                     np.array([[0.1], [0.9], [0.2], [0.8]]))
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", algo, "--input", path, "--model", model,
                   "--cv", "20", "--l1-ratio", "1", "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cv 20: fold" in err[0] and "give fewer folds" in err[0], err
    assert not model.exists()


def test_path_on_more_than_two_classes_is_refused_in_one_line(tmp_path, capsys):
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    path = write_csv(tmp_path / "iris.csv", y, X)
    model = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", path, "--model", model,
                   "--l1-ratio", "0.5", "--cv", "3", "-q") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has 3 classes: --lambdas and --cv apply to binary models" in err[0]
    assert not model.exists()


@pytest.mark.local_runner
def test_path_cv_on_local_mappers_equals_inline(cancer):
    options = dict(lambdas=[0.05, 0.005], cv=3, l1_ratio=0.5, seed=1)
    local = fit("svm", cancer[0], runner="local", mappers=4, **options)
    inline = fit("svm", cancer[0], **options)
    np.testing.assert_allclose(local["cv"]["errors"], inline["cv"]["errors"], rtol=1e-9)
    np.testing.assert_allclose(local["path"]["coef"], inline["path"]["coef"], atol=1e-9)
    assert local["n_passes"] == inline["n_passes"]


def test_plot_draws_the_cv_curve_and_the_path(cancer, tmp_path, capsys):
    from matplotlib.image import imread
    model_path, png = tmp_path / "m.json", tmp_path / "cv.png"
    assert run_cli("train", "--algo", "svm", "--input", cancer[0], "--model", model_path,
                   "--l1-ratio", "0.5", "--cv", "3", "--plot", png, "-q") == 0
    assert imread(str(png)).shape[:2] == (450, 1200)  # the CV curve beside the path
    again = tmp_path / "again.png"
    assert run_cli("plot", str(model_path), "--output", again) == 0
    assert imread(str(again)).shape == imread(str(png)).shape
    capsys.readouterr()


@pytest.mark.parametrize("argv, message", [
    (["--algo", "logistic", "--plot", "{tmp}/p.png"], "--plot draws a regularization path: "
                                                     "give --lambdas or --cv"),
    (["--algo", "logistic", "--cv", "3", "--l1-ratio", "1", "--plot", "{tmp}/m.json"],
     "--plot {tmp}/m.json: give a local PNG file apart from --model"),
    (["--algo", "logistic", "--cv", "3", "--l1-ratio", "1", "--plot", "{input}"],
     "--plot {input} is the input"),
])
def test_plot_misuse_is_one_line_before_any_pass(cancer, tmp_path, capsys, argv, message):
    fill = dict(tmp=tmp_path, input=cancer[0])
    code = run_cli("train", "--input", cancer[0], "--model", tmp_path / "m.json",
                   *[a.format(**fill) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message.format(**fill) in err[0], err
    assert not (tmp_path / "m.json").exists()


def test_plot_of_a_model_without_a_path_is_refused(cancer, tmp_path, capsys):
    model_path = tmp_path / "m.json"
    assert run_cli("train", "--algo", "logistic", "--input", cancer[0], "--model", model_path,
                   "-q") == 0
    capsys.readouterr()
    assert run_cli("plot", model_path, "--output", tmp_path / "p.png") == 2
    assert "give --lambdas or --cv" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("dataset, lam, l1_ratio", [("iris", 0.01, 0.5), ("wine", 1e-3, 1.0)])
def test_multinomial_elastic_net_equals_saga(tmp_path, dataset, lam, l1_ratio):
    """Softmax with the L1 term on every coefficient (intercepts free): saga's
    coefficients and probabilities, the same zeros; the intercepts sum to zero."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler
    X, y = getattr(datasets, "load_" + dataset)(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = fit("logistic", write_csv(tmp_path / "m.csv", y, X), l2=lam, l1_ratio=l1_ratio,
                tol=1e-10)
    sk = saga(X, y, lam, l1_ratio)
    coef = np.asarray(model["coef"])
    np.testing.assert_allclose(coef, sk.coef_, atol=1e-6)
    assert ((coef == 0) == (sk.coef_ == 0)).all() and model["n_nonzero"] < coef.size
    z = X @ coef.T + model["intercept"]
    proba = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba / proba.sum(axis=1, keepdims=True), sk.predict_proba(X),
                               atol=1e-7)
    assert abs(sum(model["intercept"])) < 1e-12 and model["n_passes"] <= 15


def elastic_net_objective(X, y, theta, lam, l1_ratio):
    """Mean log-loss + lam (r |w|_1 + (1 - r) / 2 |w|^2) of a binary ``theta = [w, b]``."""
    w, z = theta[:-1], X @ theta[:-1] + theta[-1]
    return (np.mean(np.logaddexp(0, z) - y * z)
            + lam * (l1_ratio * np.abs(w).sum() + (1 - l1_ratio) / 2 * w @ w))


def test_wide_sparse_elastic_net_is_owlqn_and_equals_saga(tmp_path):
    """2000 sparse libsvm features: too wide for Newton, so L-BFGS's orthant-wise variant
    (Spark's elastic net) takes the L1 term; saga's objective and zero pattern."""
    from scipy import sparse
    from sklearn.datasets import dump_svmlight_file
    rng = np.random.default_rng(9)
    X = sparse.random(3000, 2000, density=0.005, random_state=9, format="csr")
    y = (X @ rng.standard_normal(2000) + 0.1 * rng.standard_normal(3000) > 0).astype(float)
    path = str(tmp_path / "wide.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    model = fit("logistic", path, l2=1e-3, l1_ratio=0.5, n_features=2000, max_iter=1000,
                tol=1e-12)
    assert model["solver"] == "lbfgs" and model["converged"]
    assert model["history"][-1]["n_nonzero"] == model["n_nonzero"]
    sk = saga(X, y, 1e-3, 0.5)
    best = elastic_net_objective(X, y, np.append(sk.coef_[0], sk.intercept_), 1e-3, 0.5)
    assert model["objective"] == pytest.approx(best, rel=1e-10)
    coef = np.asarray(model["coef"])
    assert ((coef == 0) == (sk.coef_[0] == 0)).all()
    np.testing.assert_allclose(coef, sk.coef_[0], atol=1e-4)


def test_path_on_wide_sparse_rows_is_refused_before_any_pass(tmp_path, capsys):
    from scipy import sparse
    from sklearn.datasets import dump_svmlight_file
    X = sparse.random(50, 600, density=0.01, random_state=1, format="csr")
    path = str(tmp_path / "wide.svm")
    dump_svmlight_file(X, np.arange(50) % 2, path, zero_based=False)
    assert run_cli("train", "--algo", "logistic", "--input", path, "--n-features", "600",
                   "--model", tmp_path / "m.json", "--l1-ratio", "1", "--cv", "3") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lambdas and --cv need Newton's Hessian, at most 512" in err[0]


def test_elastic_net_on_a_table_equals_it_on_the_encoded_matrix(tmp_path):
    """Penguins as they are (text columns, NA, a text label of 3 classes): the multinomial
    elastic net of the table equals the one of the matrix its exported scikit-learn
    encoding makes of the same file. (With every one-hot level and the intercept nearly
    collinear, coordinate descent alone crawled here: 25 passes at 0.0615, the optimum is
    0.0511.)"""
    import pandas as pd
    from palmerpenguins import load_penguins
    from driver.model import to_sklearn
    raw_path = tmp_path / "penguins.csv"
    load_penguins().drop(columns=["year"]).to_csv(raw_path, index=False)
    options = dict(l2=0.01, l1_ratio=0.5, tol=1e-10)
    model = fit("logistic", str(raw_path), table={"label": "species"}, **options)
    assert model["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    raw = pd.read_csv(raw_path)
    encoded = to_sklearn(model)[:-1].transform(raw)
    labels = np.searchsorted(model["classes"], raw["species"])
    matrix = fit("logistic", write_csv(tmp_path / "z.csv", labels, encoded), **options)
    np.testing.assert_allclose(model["coef"], matrix["coef"], atol=1e-6)
    assert model["n_nonzero"] == matrix["n_nonzero"] < np.size(model["coef"])
    assert model["converged"] and model["n_passes"] <= 20
