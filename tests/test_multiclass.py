"""Multiclass: multinomial logistic regression and one-vs-rest svm (issue 14, items 1, 2, 6).

References are independent: scikit-learn's estimators and metrics, scipy's logsumexp and
numerical derivatives, numpy.
"""
import json
import os

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import logsumexp, softmax
from sklearn import metrics
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from conftest import fit, interrupted_and_straight, run_cli, write_csv
from driver.errors import MrlearnError
from driver.model import load_model, model_problem, save_model, to_sklearn
from driver.train import TrainConfig
from jobs.multiclass import softmax_sums
from jobs.records import MAX_LABELS

L2 = 1e-3
LOADERS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


@pytest.fixture(scope="module", params=sorted(LOADERS))
def dataset(request, tmp_path_factory):
    """(name, CSV path, standardized X, labels y)."""
    X, y = LOADERS[request.param](return_X_y=True)
    X = StandardScaler().fit_transform(X)
    path = write_csv(tmp_path_factory.mktemp(request.param) / "data.csv", y, X)
    return request.param, path, X, y.astype(float)


@pytest.fixture(scope="module")
def multinomial(dataset):
    """The multinomial model of ``dataset`` (l2 = 1e-3), trained once."""
    return fit("logistic", dataset[1], l2=L2)


def softmax_objective(X, y, coef, intercept, l2):
    """scikit-learn's multinomial objective, in numpy/scipy."""
    Z = X @ np.asarray(coef).T + intercept
    k = np.searchsorted(np.unique(y), y)
    return (logsumexp(Z, axis=1) - Z[np.arange(len(y)), k]).mean() + 0.5 * l2 * np.sum(
        np.square(coef))


def test_softmax_sums_are_the_loss_and_its_derivatives():
    rng = np.random.default_rng(0)
    X, k = rng.standard_normal((40, 3)), rng.integers(0, 4, 40)
    thetas = rng.standard_normal((2, 16))

    def loss(t):
        Z = X @ t.reshape(4, 4)[:, :3].T + t.reshape(4, 4)[:, 3]
        return (logsumexp(Z, axis=1) - Z[np.arange(40), k]).sum()

    sums = softmax_sums(X, k, thetas, 4, order=2, hess_at=1)
    np.testing.assert_allclose(sums["loss"], [loss(t) for t in thetas], rtol=1e-13)
    np.testing.assert_allclose(sums["grad"][1], approx_fprime(thetas[1], loss, 1e-7),
                               atol=2e-5)
    hessian = np.array([approx_fprime(thetas[1], lambda t: softmax_sums(
        X, k, t[None], 4)["grad"][0][i], 1e-7) for i in range(16)])
    np.testing.assert_allclose(sums["hess"], hessian, atol=2e-5)
    halves = [softmax_sums(X[s], k[s], thetas, 4, 2, 1) for s in (slice(0, 13), slice(13, 40))]
    np.testing.assert_allclose(halves[0]["hess"] + halves[1]["hess"], sums["hess"], atol=1e-12)


def test_multinomial_matches_sklearn_in_few_newton_passes(dataset, multinomial):
    name, _, X, y = dataset
    clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-12, max_iter=100000).fit(X, y)
    best = softmax_objective(X, y, clf.coef_, clf.intercept_, L2)
    ours = softmax_objective(X, y, multinomial["coef"], multinomial["intercept"], L2)
    assert multinomial["converged"] and multinomial["n_passes"] <= 12
    assert multinomial["solver"] == "newton" and multinomial["multiclass"] == "multinomial"
    assert abs(ours - best) <= 1e-8 * best
    assert multinomial["objective"] == pytest.approx(ours, rel=1e-12)
    K = len(np.unique(y))
    assert multinomial["history"][0]["objective"] == pytest.approx(np.log(K), rel=1e-15)
    assert multinomial["classes"] == list(range(K))
    assert np.shape(multinomial["coef"]) == (K, X.shape[1])
    # scikit-learn's symmetric parameterization: coefficient rows (and intercepts) sum to 0
    assert np.abs(np.sum(multinomial["coef"], axis=0)).max() < 1e-10


def test_exported_estimator_and_predict_give_the_model_probabilities(dataset, multinomial,
                                                                      tmp_path):
    name, path, X, y = dataset
    est = to_sklearn(multinomial)
    Z = X @ np.asarray(multinomial["coef"]).T + multinomial["intercept"]
    np.testing.assert_allclose(est.predict_proba(X), softmax(Z, axis=1), rtol=1e-12)
    model_path, out = str(tmp_path / "m.json"), str(tmp_path / "pred")
    save_model(model_path, multinomial)
    assert run_cli("predict", "--model", model_path, "--input", path, "--output", out) == 0
    rows = [line.split(",") for p in sorted(os.listdir(out)) if p.startswith("part-")
            for line in open(os.path.join(out, p)).read().splitlines()]
    np.testing.assert_array_equal([float(r[0]) for r in rows], est.predict(X))
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], est.predict_proba(X),
                               rtol=1e-12)


def test_evaluate_matches_sklearn_metrics(dataset, multinomial, tmp_path, capsys):
    name, path, X, y = dataset
    model_path = str(tmp_path / "m.json")
    save_model(model_path, multinomial)
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model_path, "--input", path, "--json") == 0
    got = json.loads(capsys.readouterr().out)
    est = to_sklearn(multinomial)
    proba, predicted = est.predict_proba(X), est.predict(X)
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted), rel=1e-15)
    assert got["macro_f1"] == pytest.approx(metrics.f1_score(y, predicted, average="macro"),
                                            rel=1e-12)
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, proba), rel=1e-9)
    assert got["confusion_matrix"] == metrics.confusion_matrix(y, predicted).tolist()
    assert got["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr"),
                                           rel=1e-12)


@pytest.mark.parametrize("algo", ["logistic", "svm"])
def test_one_and_three_mappers_agree(algo, tmp_path):
    X, y = load_wine(return_X_y=True)
    path = write_csv(tmp_path / "wine.csv", y, StandardScaler().fit_transform(X))
    one, three = (fit(algo, path, mappers=m, l2=L2) for m in (1, 3))
    assert one["n_passes"] == three["n_passes"]
    np.testing.assert_allclose(three["coef"], one["coef"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(three["intercept"], one["intercept"], rtol=1e-9, atol=1e-12)


def test_multinomial_falls_back_to_lbfgs_beyond_the_newton_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("driver.multiclass.NEWTON_MAX_PARAMS", 14)  # iris: 3 x 5 = 15
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = fit("logistic", write_csv(tmp_path / "iris.csv", y, X), l2=L2, max_iter=300)
    clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-12).fit(X, y)
    best = softmax_objective(X, y, clf.coef_, clf.intercept_, L2)
    assert model["solver"] == "lbfgs" and model["converged"]
    assert softmax_objective(X, y, model["coef"], model["intercept"], L2) == pytest.approx(
        best, rel=1e-7)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return write_csv(tmp_path_factory.mktemp("digits") / "digits.csv", y, X), X, y.astype(float)


@pytest.fixture(scope="module")
def ovr_digits(digits):
    return fit("svm", digits[0], l2=L2)


def test_ovr_svm_advances_the_classes_in_the_passes_of_the_slowest(digits, ovr_digits,
                                                                    tmp_path):
    path, X, y = digits
    model = ovr_digits
    assert model["multiclass"] == "ovr" and model["converged"]
    alone = []
    for k in range(10):  # each problem trained on its own, as a binary svm
        binary = write_csv(tmp_path / ("%d.csv" % k), (y == k).astype(float), X)
        alone.append(fit("svm", binary, l2=L2))
        np.testing.assert_allclose(model["objectives"][k], alone[-1]["objective"], rtol=1e-9)
    assert model["n_passes"] == max(m["n_passes"] for m in alone)
    assert [h["active"] for h in model["history"]][-1] == 0
    svc = LinearSVC(C=1 / (L2 * len(y)), intercept_scaling=100, tol=1e-10,
                    max_iter=100000).fit(X, y)
    est = to_sklearn(model)
    assert abs(est.score(X, y) - svc.score(X, y)) <= 0.005
    np.testing.assert_allclose(est.decision_function(X),
                               X @ np.asarray(model["coef"]).T + model["intercept"], rtol=1e-12)


def test_ovr_svm_predict_and_evaluate(digits, ovr_digits, tmp_path, capsys):
    path, X, y = digits
    model_path, out = str(tmp_path / "m.json"), str(tmp_path / "pred")
    save_model(model_path, ovr_digits)
    est = to_sklearn(load_model(model_path))
    assert run_cli("predict", "--model", model_path, "--input", path, "--output", out) == 0
    rows = [line.split(",") for p in sorted(os.listdir(out)) if p.startswith("part-")
            for line in open(os.path.join(out, p)).read().splitlines()]
    np.testing.assert_array_equal([float(r[0]) for r in rows], est.predict(X))
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows],
                               est.decision_function(X), rtol=1e-12)
    capsys.readouterr()
    assert run_cli("evaluate", "--model", model_path, "--input", path, "--json") == 0
    got = json.loads(capsys.readouterr().out)
    scores, predicted = est.decision_function(X), est.predict(X)
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted), rel=1e-15)
    assert got["macro_f1"] == pytest.approx(metrics.f1_score(y, predicted, average="macro"),
                                            rel=1e-12)
    assert got["confusion_matrix"] == metrics.confusion_matrix(y, predicted).tolist()
    per_class = [metrics.roc_auc_score(y == k, scores[:, k]) for k in range(10)]
    np.testing.assert_allclose(got["roc_auc_per_class"], per_class, rtol=1e-12)
    assert got["roc_auc"] == pytest.approx(np.mean(per_class), rel=1e-12)
    assert "log_loss" not in got


def test_ovr_logistic_exports_a_one_vs_rest_classifier(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = fit("logistic", write_csv(tmp_path / "iris.csv", y, X), l2=L2, multiclass="ovr",
                tol=1e-10)
    assert model["multiclass"] == "ovr" and model["converged"]
    for k in range(3):  # each problem is scikit-learn's binary logistic regression
        clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-12).fit(X, y == k)
        np.testing.assert_allclose(model["coef"][k], clf.coef_[0], rtol=1e-5, atol=1e-6)
    sigmoids = 1 / (1 + np.exp(-(X @ np.asarray(model["coef"]).T + model["intercept"])))
    np.testing.assert_allclose(to_sklearn(model).predict_proba(X),
                               sigmoids / sigmoids.sum(axis=1, keepdims=True), rtol=1e-12)


def test_a_resumed_multiclass_run_ends_with_the_same_model(tmp_path):
    X, y = load_iris(return_X_y=True)
    path = write_csv(tmp_path / "iris.csv", y, StandardScaler().fit_transform(X))
    for algo in ("logistic", "svm"):
        config = TrainConfig(algo, [path], l2=L2)
        resumed, straight = interrupted_and_straight(config, str(tmp_path / algo), 2)
        assert resumed["coef"] == straight["coef"]
        assert resumed["history"][-1]["objective"] == straight["history"][-1]["objective"]


def test_binary_models_keep_their_format(cancer):
    model = fit("logistic", cancer[0], l2=L2)
    assert "multiclass" not in model and "multiclass" not in model["params"]
    assert model["classes"] == [0, 1] and np.shape(model["coef"]) == (cancer[1].shape[1],)


def test_two_classes_as_multinomial_give_the_binary_probabilities(cancer):
    # rows w_1 = -w_0 = v / 2 make the penalty l2 / 2 (|w_0|^2 + |w_1|^2) = (l2 / 2) |v|^2 / 2
    binary = fit("logistic", cancer[0], l2=L2 / 2, tol=1e-10)
    two = fit("logistic", cancer[0], l2=L2, tol=1e-10, multiclass="multinomial")
    X = cancer[1]
    np.testing.assert_allclose(to_sklearn(two).predict_proba(X),
                               to_sklearn(binary).predict_proba(X), rtol=1e-6)


def test_too_many_labels_is_refused_naming_the_label_column(tmp_path):
    rng = np.random.default_rng(0)
    path = write_csv(tmp_path / "wide.csv", np.arange(MAX_LABELS + 1.0),
                     rng.standard_normal((MAX_LABELS + 1, 2)))
    with pytest.raises(MrlearnError, match="more than %d distinct labels in column 0: is "
                                           "--label-col the label" % MAX_LABELS):
        fit("logistic", path)


@pytest.mark.parametrize("options,message", [
    (dict(algo="svm", multiclass="multinomial"), "svm trains one-vs-rest"),
    (dict(algo="logistic", solver="sgd", multiclass="ovr"), "newton, lbfgs or gd"),
    (dict(algo="linear", multiclass="ovr"), "applies to logistic and svm"),
    (dict(algo="logistic", multiclass="softmax"), "must be one of auto, multinomial, ovr")])
def test_multiclass_options_are_checked(options, message):
    with pytest.raises(MrlearnError, match=message):
        TrainConfig(inputs=["x.csv"], **options)


@pytest.mark.parametrize("change,message", [
    (dict(classes=[2, 1, 0]), "distinct numbers in increasing order"),
    (dict(coef=[[0.0] * 4] * 2), "coef must be 3 rows"),
    (dict(intercept=[0.0, 1.0]), "intercept must be 3 finite numbers"),
    (dict(multiclass="multinomial", algo="svm", loss="squared_hinge"), "does not apply to svm")])
def test_damaged_multiclass_models_are_named(change, message):
    model = {"algo": "logistic", "loss": "logistic", "n_features": 4, "multiclass": "multinomial",
             "classes": [0, 1, 2], "coef": [[0.0] * 4] * 3, "intercept": [0.0] * 3}
    assert model_problem(model) is None
    assert message in model_problem(dict(model, **change))


def test_a_stray_fraction_among_integer_labels_is_a_bad_row_unless_multiclass_is_given(
        tmp_path):
    X, y = load_iris(return_X_y=True)
    y = y.astype(float)
    y[7] = 0.5
    path = write_csv(tmp_path / "iris.csv", y, X)
    with pytest.raises(MrlearnError, match=r"iris.csv, line 8: label 0.5: logistic classes are "
                                           r"integers"):
        fit("logistic", path)
    assert fit("logistic", path, skip_bad_rows=True)["classes"] == [0, 1, 2]
    model = fit("logistic", path, multiclass="multinomial", max_iter=2)
    assert model["classes"] == [0, 0.5, 1, 2] and model["solver"] == "newton"


def test_minus_zero_is_the_class_zero(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    path = write_csv(tmp_path / "iris.csv", y, X)
    text = open(path).read().splitlines()
    text = ["-" + line if v == 0 else line for line, v in zip(text, y)]
    open(path, "w").write("\n".join(text) + "\n")
    model = fit("logistic", path, l2=L2)
    assert model["classes"] == [0, 1, 2] and model["converged"]


def test_summary_of_multiclass_models(tmp_path, capsys):
    """Multinomial: MNLogit's contrasts (tests/test_inference.py checks the figures);
    one-vs-rest: none, and the summary says why."""
    X, y = load_iris(return_X_y=True)
    path = write_csv(tmp_path / "iris.csv", y, StandardScaler().fit_transform(X))
    multinomial = fit("logistic", path, l2=L2)
    ovr = fit("svm", path, l2=L2)
    assert "positives" not in multinomial["history"][0]
    assert multinomial["history"][0]["class_counts"] == [50, 50, 50]
    assert multinomial["summary"]["names"][-1] == "intercept[2]"
    assert multinomial["summary"]["penalized"]
    path = str(tmp_path / "m.json")
    save_model(path, ovr)
    capsys.readouterr()
    assert run_cli("summary", path) == 0
    assert "one-vs-rest fits K separate binary models" in capsys.readouterr().out
