"""Distributed SGD and parameter mixing: exact, split-independent sampling; accuracy."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from conftest import fit, interrupted_and_straight, objective, theta_of, write_csv
from driver.train import TrainConfig
from jobs.sgd import exact_sums, from_exact, learning_rate, sample_mask, sgd_pass_sums


@pytest.fixture(scope="module")
def cancer_split(tmp_path_factory):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    path = write_csv(tmp_path_factory.mktemp("sgd") / "train.csv", y_train, X_train)
    return path, X_train, y_train.astype(float), X_test, y_test


def test_exact_sums_do_not_depend_on_grouping():
    values = np.random.default_rng(0).standard_normal((1000, 3)) * 1e3
    whole = exact_sums(values)
    parts = [exact_sums(values[lo:lo + 137]) for lo in range(0, 1000, 137)]
    assert whole == [sum(col) for col in zip(*parts)]
    np.testing.assert_allclose(from_exact(whole), values.sum(axis=0), rtol=1e-9)


def test_sample_and_sums_are_the_same_whatever_the_splits():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5000, 4)), (rng.random(5000) > 0.5).astype(float)
    theta = rng.standard_normal(5)
    mask = sample_mask(X, y, 3, 7, 0.1)
    assert 400 < mask.sum() < 600
    np.testing.assert_array_equal(mask[2500:], sample_mask(X[2500:], y[2500:], 3, 7, 0.1))
    whole = sgd_pass_sums("logistic", X, y, theta, 3, 7, 0.1)
    halves = [sgd_pass_sums("logistic", X[s], y[s], theta, 3, 7, 0.1)
              for s in (slice(0, 1234), slice(1234, None))]
    assert whole["sample_n"] == sum(h["sample_n"] for h in halves)
    assert whole["loss_exact"] == sum(h["loss_exact"] for h in halves)
    assert whole["sample_grad_exact"] == [a + b for a, b in zip(*[h["sample_grad_exact"]
                                                                   for h in halves])]


def test_learning_rate_schedules_by_hand():
    assert learning_rate("constant", 9, 0.5, 0.5, 0.1) == 0.5
    assert learning_rate("invscaling", 3, 0.5, 0.5, 0.1) == pytest.approx(0.25)
    assert learning_rate("optimal", 0, 0.5, 0.5, 0.1) == pytest.approx(0.5)
    assert learning_rate("optimal", 10, 0.5, 0.5, 0.1) == pytest.approx(1 / (0.1 * (20 + 10)))


def test_sgd_is_identical_for_any_number_of_mappers(cancer_split):
    one = fit("logistic", cancer_split[0], solver="sgd", l2=1e-3, max_iter=15, mappers=1)
    four = fit("logistic", cancer_split[0], solver="sgd", l2=1e-3, max_iter=15, mappers=4)
    assert one["coef"] == four["coef"] and one["intercept"] == four["intercept"]
    assert [h["objective"] for h in one["history"]] == [h["objective"] for h in four["history"]]


@pytest.mark.parametrize("solver", ["sgd", "mixing"])
def test_reruns_are_bit_identical(cancer_split, solver):
    runs = [fit("logistic", cancer_split[0], solver=solver, l2=1e-3, max_iter=4, mappers=2,
                seed=5) for _ in range(2)]
    assert runs[0]["coef"] == runs[1]["coef"]
    assert runs[0]["coef"] != fit("logistic", cancer_split[0], solver=solver, l2=1e-3,
                                  max_iter=4, mappers=2, seed=6)["coef"]


def test_history_shows_the_full_objective_of_each_pass_start(cancer_split):
    path, X, y, _, _ = cancer_split
    model = fit("logistic", path, solver="sgd", l2=1e-3, max_iter=3)
    assert model["history"][0]["objective"] == pytest.approx(np.log(2), rel=1e-9)
    assert all(h["sample"] > 0 for h in model["history"])
    one_step = fit("logistic", path, solver="sgd", l2=1e-3, max_iter=1)
    assert model["history"][1]["objective"] == pytest.approx(
        objective("logistic", X, y, theta_of(one_step), 1e-3)[0], rel=1e-8)


@pytest.mark.parametrize("solver,loss,sk_loss", [
    ("sgd", "logistic", "log_loss"), ("mixing", "logistic", "log_loss"),
    ("sgd", "hinge", "hinge"), ("mixing", "hinge", "hinge")])
def test_accuracy_matches_sklearn_sgdclassifier(cancer_split, solver, loss, sk_loss):
    path, X, y, X_test, y_test = cancer_split
    algo = "logistic" if loss == "logistic" else "svm"
    # a split of breast_cancer is ~200 rows: mixing needs more local epochs than on big data
    local = {"local_epochs": 10} if solver == "mixing" else {}
    model = fit(algo, path, solver=solver, l2=1e-3, max_iter=30, seed=1, **local)
    z = X_test @ np.array(model["coef"]) + model["intercept"]
    ours = np.mean((z > 0) == (y_test > 0))
    sk = SGDClassifier(loss=sk_loss, alpha=1e-3, random_state=0, max_iter=1000, tol=1e-6)
    theirs = sk.fit(X, y).score(X_test, y_test)
    assert ours >= theirs - 0.01, (ours, theirs)


def test_averaged_sgd_and_resume(cancer_split, tmp_path):
    config = TrainConfig("logistic", [cancer_split[0]], solver="sgd", l2=1e-3, max_iter=8,
                         average=True, schedule="adagrad", eta0=0.5)
    resumed, straight = interrupted_and_straight(config, str(tmp_path / "ckpt"), 4)
    assert resumed["coef"] == straight["coef"]
    assert straight["history"][-1]["objective"] < straight["history"][0]["objective"]
