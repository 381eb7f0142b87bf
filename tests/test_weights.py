"""Row weights (``--weight-col``) and class weights (``--class-weight``): scikit-learn's
``sample_weight`` and ``class_weight`` in every solver (binary, linear, multiclass, k-means)
and in ``evaluate``."""
import json

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.datasets import load_wine
from sklearn.metrics import (accuracy_score, confusion_matrix, log_loss, mean_absolute_error,
                             mean_squared_error, r2_score, roc_auc_score)
from sklearn.preprocessing import StandardScaler

from conftest import fit, run_cli, write_csv
from driver.evaluate import evaluate
from driver.model import save_model, to_sklearn
from driver.predict import predict
from driver.passes import Runner
from jobs.kernels import encode_labels, loss_sums, regression_sums
from jobs.records import merge_records
from jobs.tsqr import from_pair, rfactor

L2 = 0.01


def _write(path, *columns):
    np.savetxt(str(path), np.column_stack(columns), delimiter=",", fmt="%.17g")
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Rows (y binary, y real, X (400, 4), integer weights 0..3 with zeros) and files:
    ``weighted.csv`` (label, X, weight), ``real.csv`` (weight, X, real label) and
    ``repeated.csv`` (each row repeated by its weight, binary label)."""
    d = tmp_path_factory.mktemp("weights")
    rng = np.random.default_rng(3)
    n = 400
    X = rng.normal(size=(n, 4)) + [0.0, 3.0, -1.0, 0.5]
    y = (X @ [1.0, -0.5, 0.25, 0.0] + 0.8 * rng.normal(size=n) > -1.0).astype(float)
    y_real = X @ [2.0, -1.0, 0.5, 0.0] + 5.0 + rng.normal(size=n)
    w = rng.integers(0, 4, size=n).astype(float)
    repeat = np.repeat(np.arange(n), w.astype(int))
    return {"X": X, "y": y, "y_real": y_real, "w": w,
            "weighted": _write(d / "weighted.csv", y, X, w),
            "real": _write(d / "real.csv", w, X, y_real),
            "repeated": _write(d / "repeated.csv", y[repeat], X[repeat]),
            "plain": _write(d / "plain.csv", y, X)}


def _theta(model):
    return np.append(model["coef"], model["intercept"])


def _objective(loss, X, y, w, theta, l2):
    """sum_i w_i loss_i / sum_i w_i + l2/2 |coef|^2, by hand in numpy."""
    z = X @ theta[:-1] + theta[-1]
    if loss == "logistic":
        per_row = np.logaddexp(0.0, z) - y * z
    else:
        per_row = np.maximum(0.0, 1.0 - (2 * y - 1) * z) ** 2
    return w @ per_row / w.sum() + 0.5 * l2 * theta[:-1] @ theta[:-1]


def test_weight_column_is_sklearn_sample_weight_for_logistic_newton(data):
    model = fit("logistic", data["weighted"], weight_col=5, l2=L2, tol=1e-10)
    X, y, w = data["X"], data["y"], data["w"]
    sk = LogisticRegression(C=1.0 / (L2 * w.sum()), tol=1e-12, max_iter=10000).fit(
        X, y, sample_weight=w)
    np.testing.assert_allclose(_theta(model), np.append(sk.coef_, sk.intercept_), atol=1e-7)
    assert model["params"]["weight_col"] == 5 and model["weight_sum"] == w.sum()
    assert to_sklearn(model).C == pytest.approx(sk.C, rel=1e-15)


def test_weight_column_is_sklearn_sample_weight_for_ridge_normal(data):
    model = fit("linear", data["real"], label_col=-1, weight_col=0, l2=L2)
    X, y, w = data["X"], data["y_real"], data["w"]
    sk = Ridge(alpha=L2 * w.sum(), tol=1e-12).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_theta(model), np.append(sk.coef_, sk.intercept_), atol=1e-9)
    unpenalized = fit("linear", data["real"], label_col=-1, weight_col=0)
    sk = Ridge(alpha=0.0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_theta(unpenalized), np.append(sk.coef_, sk.intercept_), atol=1e-9)


def test_weight_column_gives_the_weighted_squared_hinge_optimum(data):
    X, y, w = data["X"], data["y"], data["w"]
    model = fit("svm", data["weighted"], weight_col=5, l2=L2, tol=1e-12)
    reference = minimize(lambda t: _objective("squared_hinge", X, y, w, t, L2), np.zeros(5),
                         method="BFGS", options={"gtol": 1e-10}).x
    assert model["objective"] == pytest.approx(
        _objective("squared_hinge", X, y, w, reference, L2), rel=1e-9)
    np.testing.assert_allclose(_theta(model), reference, atol=1e-5)


@pytest.mark.parametrize("algo,solver", [("logistic", "lbfgs"), ("svm", "newton"),
                                         ("logistic", "gd")])
def test_integer_weights_equal_repeated_rows(data, algo, solver):
    options = dict(solver=solver, l2=0.1, tol=1e-12, max_iter=300)
    weighted = fit(algo, data["weighted"], weight_col=5, **options)
    repeated = fit(algo, data["repeated"], **options)
    assert weighted["objective"] == pytest.approx(repeated["objective"], rel=1e-9)
    np.testing.assert_allclose(_theta(weighted), _theta(repeated), atol=1e-4)


def test_balanced_class_weight_is_sklearns(data):
    X, y = data["X"], data["y"]
    model = fit("logistic", data["plain"], class_weight="balanced", l2=L2, tol=1e-10)
    sk = LogisticRegression(C=1.0 / (L2 * len(y)), class_weight="balanced", tol=1e-12,
                            max_iter=10000).fit(X, y)
    counts = np.bincount(y.astype(int))
    cw = len(y) / (2.0 * counts)
    assert model["class_weights"] == pytest.approx({"0.0": cw[0], "1.0": cw[1]}, rel=1e-15)
    w = cw[y.astype(int)]
    ours = _objective("logistic", X, y, w, _theta(model), L2)
    theirs = _objective("logistic", X, y, w, np.append(sk.coef_, sk.intercept_), L2)
    assert ours == pytest.approx(theirs, rel=1e-8, abs=0)
    assert ours <= theirs + 1e-12
    # one counting pass besides the training passes, not counted in n_passes
    assert model["objective"] == pytest.approx(ours, rel=1e-12)


def test_balanced_class_weight_with_a_weight_column_uses_weighted_counts(data):
    """scikit-learn >= 1.6 (compute_class_weight with sample_weight): W / (K W_c)."""
    X, y, w = data["X"], data["y"], data["w"]
    model = fit("logistic", data["weighted"], weight_col=5, class_weight="balanced", l2=L2,
                tol=1e-10)
    totals = np.bincount(y.astype(int), weights=w)
    cw = totals.sum() / (2.0 * totals)
    assert model["class_weights"] == pytest.approx({"0.0": cw[0], "1.0": cw[1]}, rel=1e-15)
    total = (w * cw[y.astype(int)]).sum()
    sk = LogisticRegression(C=1.0 / (L2 * total), class_weight="balanced", tol=1e-12,
                            max_iter=10000).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_theta(model), np.append(sk.coef_, sk.intercept_), atol=1e-7)


def test_class_weight_dict_multiplies_the_weight_column(data):
    X, y, w = data["X"], data["y"], data["w"]
    model = fit("logistic", data["weighted"], weight_col=5, class_weight='{"1": 3}', l2=L2,
                tol=1e-10)
    rows = w * np.where(y == 1, 3.0, 1.0)
    sk = LogisticRegression(C=1.0 / (L2 * rows.sum()), tol=1e-12, max_iter=10000).fit(
        X, y, sample_weight=rows)
    np.testing.assert_allclose(_theta(model), np.append(sk.coef_, sk.intercept_), atol=1e-7)
    assert model["params"]["class_weight"] == {"1": 3}


def test_weighted_evaluate_matches_sklearn_metrics(data, tmp_path):
    X, y, w = data["X"], data["y"], data["w"]
    model = fit("logistic", data["plain"], l2=L2)
    with Runner("inline") as runner:
        metrics = evaluate(model, [data["weighted"]], runner, weight_col=5)
    theta = _theta(model)
    z = X @ theta[:-1] + theta[-1]
    assert metrics["accuracy"] == pytest.approx(
        accuracy_score(y, z > 0, sample_weight=w), rel=1e-12)
    assert metrics["log_loss"] == pytest.approx(
        log_loss(y, 1 / (1 + np.exp(-z)), sample_weight=w), rel=1e-9)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, z, sample_weight=w), rel=1e-12)
    linear = fit("linear", data["real"], label_col=-1, weight_col=0)
    with Runner("inline") as runner:
        metrics = evaluate(linear, [data["real"]], runner, label_col=-1, weight_col=0)
    theta = _theta(linear)
    pred = X @ theta[:-1] + theta[-1]
    y_real = data["y_real"]
    assert metrics["rmse"] == pytest.approx(
        np.sqrt(mean_squared_error(y_real, pred, sample_weight=w)), rel=1e-10)
    assert metrics["mae"] == pytest.approx(
        mean_absolute_error(y_real, pred, sample_weight=w), rel=1e-10)
    assert metrics["r2"] == pytest.approx(r2_score(y_real, pred, sample_weight=w), rel=1e-10)


def test_weighted_kernels_are_the_weighted_sums_and_none_is_unweighted():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(50, 3)), rng.integers(0, 2, 50).astype(float), rng.random(50)
    thetas = rng.normal(size=(2, 4))
    plain = loss_sums("logistic", X, y, thetas, 2)
    weighted = loss_sums("logistic", X, y, thetas, 2, weights=w)
    ones = loss_sums("logistic", X, y, thetas, 2, weights=np.ones(50))
    for key in ("loss", "grad", "hess"):
        np.testing.assert_allclose(plain[key], ones[key], rtol=1e-13)
    z = X @ thetas[0, :3] + thetas[0, 3]
    p = 1 / (1 + np.exp(-z))
    A = np.column_stack([X, np.ones(50)])
    np.testing.assert_allclose(weighted["grad"][0], A.T @ (w * (p - y)), rtol=1e-12)
    np.testing.assert_allclose(weighted["hess"], (A * (w * p * (1 - p))[:, None]).T @ A,
                               rtol=1e-12)
    r = regression_sums(X, y, thetas[0], w)
    mean = w @ y / w.sum()
    assert r["y_moments"][2][0, 0] == pytest.approx(w @ (y - mean) ** 2, rel=1e-12)


def test_weighted_tsqr_merges_to_the_factor_of_the_scaled_rows():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(60, 4)) + 100.0
    w = rng.random(60)
    merged = merge_records({"f_rfactor": rfactor(Z[:25], w[:25])},
                           {"f_rfactor": rfactor(Z[25:], w[25:])})["f_rfactor"]
    n, shift, pair = merged
    R = from_pair(pair).astype(np.float64)
    A = np.column_stack([Z[:, :3] - shift[:3], np.ones(60), Z[:, 3] - shift[3]])
    A *= np.sqrt(w)[:, None]
    np.testing.assert_allclose(R.T @ R, A.T @ A, rtol=1e-9, atol=1e-9)
    assert n == 60


@pytest.mark.parametrize("init", ["k-means||", "k-means++", "random"])
def test_weighted_kmeans_inertia_is_sklearns_sample_weight_inertia(tmp_path, init):
    from sklearn.cluster import KMeans
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(150, 2)) * s + c for s, c in
                   ((0.5, (0, 0)), (1.0, (6, 1)), (0.3, (2, 7)), (0.8, (-5, 4)))])
    w = rng.exponential(size=len(X)) * np.where(X[:, 0] > 3, 5.0, 1.0)
    path = _write(tmp_path / "k.csv", X, w)
    model = fit("kmeans", path, k=4, weight_col=2, init=init, n_init=3, seed=1, tol=1e-8,
                max_iter=200)
    sk = KMeans(4, n_init=10, random_state=0, tol=1e-8).fit(X, sample_weight=w)
    assert model["inertia"] <= 1.001 * sk.inertia_
    labels = np.argmin(((X[:, None, :] - np.asarray(model["cluster_centers"])) ** 2).sum(-1), 1)
    d2 = ((X - np.asarray(model["cluster_centers"])[labels]) ** 2).sum(1)
    assert model["inertia"] == pytest.approx(w @ d2, rel=1e-9)
    with Runner("inline") as runner:
        metrics = evaluate(model, [path], runner, weight_col=2)
    assert metrics["inertia"] == pytest.approx(w @ d2, rel=1e-12)
    assert sum(metrics["cluster_sizes"]) == pytest.approx(w.sum(), rel=1e-12)


@pytest.mark.parametrize("solver,options", [
    ("sgd", dict(batch_fraction=1.0, schedule="constant", eta0=0.5)),
    ("mixing", dict(local_epochs=1, batch_size=10 ** 6, schedule="constant", eta0=0.5))])
def test_integer_weights_equal_repeated_rows_for_sgd_and_mixing(data, solver, options):
    """Full-batch steps: each pass is a gradient step on the weighted mean loss, as on the
    rows repeated by their weights."""
    weighted = fit("logistic", data["weighted"], weight_col=5, solver=solver, l2=0.1,
                   max_iter=5, **options)
    repeated = fit("logistic", data["repeated"], solver=solver, l2=0.1, max_iter=5, **options)
    np.testing.assert_allclose(_theta(weighted), _theta(repeated), rtol=1e-9, atol=1e-12)
    assert weighted["objective"] == pytest.approx(repeated["objective"], rel=1e-9)


def test_weighted_summaries_are_statsmodels_wls_and_glm_freq_weights(data):
    import statsmodels.api as sm
    X, w = data["X"], data["w"]
    A = sm.add_constant(X, prepend=False)
    linear = fit("linear", data["real"], label_col=-1, weight_col=0)["summary"]
    wls = sm.WLS(data["y_real"], A, weights=w).fit()
    for ours, theirs in (("coef", "params"), ("std_err", "bse"), ("p_value", "pvalues")):
        np.testing.assert_allclose(linear[ours], getattr(wls, theirs), rtol=1e-8)
    for ours, theirs in (("r_squared", "rsquared"), ("f_statistic", "fvalue"), ("rss", "ssr"),
                         ("df_resid", "df_resid")):
        assert linear[ours] == pytest.approx(getattr(wls, theirs), rel=1e-9)
    assert "log_likelihood" not in linear and "WLS" in linear["note"]
    logistic = fit("logistic", data["weighted"], weight_col=5, tol=1e-10)["summary"]
    glm = sm.GLM(data["y"], A, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-12)
    for ours, theirs in (("coef", "params"), ("std_err", "bse")):
        np.testing.assert_allclose(logistic[ours], getattr(glm, theirs), rtol=1e-6)
    # p-values down to 1e-25: in the tail a relative error of the standard error grows by
    # z^2 (with statsmodels 0.15 they differ by 8e-6 there), so compare logs
    np.testing.assert_allclose(np.log(logistic["p_value"]), np.log(glm.pvalues), rtol=1e-6)
    for ours, theirs in (("log_likelihood", "llf"), ("null_log_likelihood", "llnull"),
                         ("aic", "aic"), ("df_resid", "df_resid")):
        assert logistic[ours] == pytest.approx(getattr(glm, theirs), rel=1e-8)


def test_predict_skips_the_weight_column(data, tmp_path):
    model = fit("logistic", data["weighted"], weight_col=5, l2=L2)
    with Runner("inline") as runner:
        predict(model, [data["weighted"]], str(tmp_path / "out"), runner, weight_col=5)
    lines = "".join(p.read_text() for p in sorted((tmp_path / "out").glob("part-*")))
    theta = _theta(model)
    z = data["X"] @ theta[:-1] + theta[-1]
    assert [line.split(",")[0] for line in lines.splitlines()] == [
        "%d" % v for v in (z > 0)]


@pytest.fixture(scope="module")
def weighted_wine(tmp_path_factory):
    """Standardized wine (3 classes) with integer weights 1-3 in the last column, and the
    same rows repeated by their weights."""
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    w = np.random.default_rng(0).integers(1, 4, len(y)).astype(float)
    d = tmp_path_factory.mktemp("wine")
    weighted = write_csv(d / "weighted.csv", y, np.column_stack([X, w]))
    repeated = write_csv(d / "repeated.csv", np.repeat(y, w.astype(int)),
                         np.repeat(X, w.astype(int), axis=0))
    return weighted, repeated, X, y, w


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_multinomial_weights_equal_sklearn_sample_weight(class_weight, weighted_wine):
    weighted, _, X, y, w = weighted_wine
    l2 = 1e-2
    options = {"class_weight": class_weight} if class_weight else {}
    model = fit("logistic", weighted, l2=l2, tol=1e-12, weight_col=X.shape[1] + 1, **options)
    ref = LogisticRegression(C=1 / (l2 * w.sum()), class_weight=class_weight, tol=1e-12,
                             max_iter=10000).fit(X, y, sample_weight=w)
    assert model["multiclass"] == "multinomial"
    np.testing.assert_allclose(model["coef"], ref.coef_, atol=2e-6)
    np.testing.assert_allclose(model["intercept"], ref.intercept_, atol=2e-6)


def test_one_vs_rest_weights_equal_repeated_rows(weighted_wine):
    weighted, repeated, X, _, _ = weighted_wine
    by_weight = fit("svm", weighted, l2=1e-2, tol=1e-10, weight_col=X.shape[1] + 1)
    by_rows = fit("svm", repeated, l2=1e-2, tol=1e-10)
    assert by_weight["multiclass"] == "ovr"
    np.testing.assert_allclose(by_weight["coef"], by_rows["coef"], atol=1e-9)
    assert by_weight["objective"] == pytest.approx(by_rows["objective"], rel=1e-12)


def test_multiclass_evaluate_with_weights_equals_sklearn(weighted_wine, tmp_path, capsys):
    weighted, _, X, y, w = weighted_wine
    model = fit("logistic", weighted, l2=1e-2, weight_col=X.shape[1] + 1)
    path = str(tmp_path / "m.json")
    save_model(path, model)
    capsys.readouterr()
    assert run_cli("evaluate", "--model", path, "--input", weighted, "--weight-col",
                   X.shape[1] + 1, "--json") == 0
    metrics = json.loads(capsys.readouterr().out)
    P = to_sklearn(model).predict_proba(X)
    assert metrics["accuracy"] == pytest.approx(
        accuracy_score(y, P.argmax(axis=1), sample_weight=w), rel=1e-12)
    assert metrics["log_loss"] == pytest.approx(log_loss(y, P, sample_weight=w), rel=1e-9)
    assert metrics["roc_auc"] == pytest.approx(
        roc_auc_score(y, P, multi_class="ovr", sample_weight=w), abs=1e-3)
    np.testing.assert_allclose(metrics["confusion_matrix"], confusion_matrix(
        y, P.argmax(axis=1), sample_weight=w))


def test_multinomial_summary_with_integer_weights_is_that_of_the_repeated_rows(weighted_wine):
    """Frequency weights: the summary of rows weighted 1-3 is that of the rows repeated."""
    weighted, repeated, X, _, _ = weighted_wine
    by_weight = fit("logistic", weighted, tol=1e-12, l2=1e-2, weight_col=X.shape[1] + 1)
    by_rows = fit("logistic", repeated, tol=1e-12, l2=1e-2)
    for key in ("coef", "std_err", "p_value"):
        np.testing.assert_allclose(by_weight["summary"][key], by_rows["summary"][key],
                                   rtol=1e-6, atol=1e-12)
    for key in ("log_likelihood", "null_log_likelihood", "aic", "bic", "df_resid"):
        assert by_weight["summary"][key] == pytest.approx(by_rows["summary"][key], rel=1e-9)
