"""Training on the inline runner: the foundation's accuracy and pass-count targets."""
import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from conftest import fit, interrupted_and_straight, objective, theta_of, write_csv
from driver.errors import MrlearnError
from driver.passes import Runner
from driver.train import TrainConfig, train

L2 = 1e-3


@pytest.fixture(scope="module")
def sklearn_logistic_optimum(cancer):
    _, X, y = cancer
    clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-10, max_iter=10000).fit(X, y)
    return objective("logistic", X, y, np.append(clf.coef_[0], clf.intercept_), L2)[0]


@pytest.fixture(scope="module")
def squared_hinge_optimum(cancer):
    _, X, y = cancer
    res = minimize(lambda t: objective("squared_hinge", X, y, t, L2), np.zeros(X.shape[1] + 1),
                   jac=True, method="L-BFGS-B",
                   options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-13})
    return res.fun


def objectives(model):
    return [h["objective"] for h in model["history"]]


def test_logistic_newton_matches_sklearn_in_few_passes(cancer, sklearn_logistic_optimum):
    model = fit("logistic", cancer[0], l2=L2)
    assert model["n_passes"] <= 10 and model["converged"]
    assert abs(model["objective"] - sklearn_logistic_optimum) <= 1e-6 * sklearn_logistic_optimum
    assert model["classes"] == [0, 1]
    assert model["history"][0]["objective"] == pytest.approx(np.log(2))  # at w = 0


def test_labels_minus_one_one_and_header_give_the_same_model(cancer, cancer_pm1):
    a = fit("logistic", cancer[0], l2=L2)
    b = fit("logistic", cancer_pm1[0], l2=L2)
    assert b["classes"] == [-1, 1]
    np.testing.assert_allclose(theta_of(a), theta_of(b), rtol=1e-12)


def test_svm_newton_reaches_the_exact_squared_hinge_minimizer(cancer, squared_hinge_optimum):
    model = fit("svm", cancer[0], l2=L2)
    assert model["loss"] == "squared_hinge"
    assert model["n_passes"] <= 12
    assert abs(model["objective"] - squared_hinge_optimum) <= 1e-6 * squared_hinge_optimum


def test_linear_normal_is_one_pass_and_equals_least_squares(diabetes):
    path, X, y = diabetes
    model = fit("linear", path)
    assert model["n_passes"] == 1
    expected = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    np.testing.assert_allclose(theta_of(model), expected, rtol=1e-8)


@pytest.mark.parametrize("name,x,powers", [
    ("quadratic", np.arange(1000.0), [1, 2]),           # y = 1 + 2x + 3x^2 exactly
    ("wampler1", np.arange(21.0), [1, 2, 3, 4, 5])])    # NIST Wampler1: y = 1 + x + ... + x^5
def test_normal_equations_objective_is_the_data_residual_and_never_negative(name, x, powers,
                                                                            tmp_path):
    X = np.column_stack([x ** p for p in powers])
    y = 1 + X @ (np.arange(2.0, 2 + len(powers)) if name == "quadratic" else np.ones(len(powers)))
    model = fit("linear", write_csv(tmp_path / (name + ".csv"), y, X))
    residual = y - X @ model["coef"] - model["intercept"]
    floor = np.finfo(float).eps * np.var(y) / 2  # the scatter's own rounding, Syy / 2n
    assert model["objective"] >= 0
    assert abs(model["objective"] - residual @ residual / (2 * len(y))) <= 10 * floor


def test_normal_equations_rank_deficient_is_minimum_norm_in_original_units(tmp_path):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(200), rng.standard_normal(200)
    X = np.column_stack([a, b, 10 * a, b])  # a scaled copy and an exact copy
    y = 1 + 2 * a - b + 0.1 * rng.standard_normal(200)
    model = fit("linear", write_csv(tmp_path / "collinear.csv", y, X))
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    np.testing.assert_allclose(model["coef"], np.linalg.pinv(Xc) @ yc, rtol=1e-9)
    np.testing.assert_allclose(model["coef"], np.linalg.lstsq(Xc, yc, rcond=None)[0], rtol=1e-9)
    assert model["intercept"] == pytest.approx(y.mean() - X.mean(axis=0) @ model["coef"], rel=1e-12)


def test_linear_ridge_matches_closed_form(diabetes):
    path, X, y = diabetes
    n, l2 = len(y), 0.01
    model = fit("linear", path, l2=l2)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + n * l2 * np.eye(X.shape[1]), Xc.T @ yc)
    np.testing.assert_allclose(model["coef"], w, rtol=1e-8)
    assert model["intercept"] == pytest.approx(y.mean() - X.mean(axis=0) @ w, rel=1e-10)
    assert model["objective"] == pytest.approx(objective("squared", X, y, theta_of(model), l2)[0],
                                               rel=1e-10)


@pytest.mark.parametrize("algo,data", [("logistic", "cancer"), ("svm", "cancer"),
                                       ("linear", "diabetes")])
def test_gd_with_backtracking_never_increases_the_objective(request, algo, data):
    path = request.getfixturevalue(data)[0]
    model = fit(algo, path, solver="gd", l2=L2, max_iter=60)
    values = objectives(model)
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert values[-1] < 0.5 * values[0]


def test_svm_gd_uses_the_hinge_subgradient(cancer):
    _, X, y = cancer
    model = fit("svm", cancer[0], solver="gd", l2=L2, max_iter=40)
    assert model["loss"] == "hinge"
    assert model["objective"] == pytest.approx(objective("hinge", X, y, theta_of(model), L2)[0],
                                               rel=1e-12)


def test_gd_fixed_step_takes_exactly_that_step(cancer):
    _, X, y = cancer
    model = fit("logistic", cancer[0], solver="gd", step_size=0.5, max_iter=3)
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(2):
        theta = theta - 0.5 * objective("logistic", X, y, theta, 0.0)[1]
    np.testing.assert_allclose(theta_of(model), theta, rtol=1e-12)


def test_lbfgs_converges_to_the_newton_solution(cancer, sklearn_logistic_optimum):
    model = fit("logistic", cancer[0], solver="lbfgs", l2=L2, max_iter=200)
    assert model["converged"]
    assert abs(model["objective"] - sklearn_logistic_optimum) <= 1e-6 * sklearn_logistic_optimum


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_interrupted_run_resumes_to_the_same_model(cancer, tmp_path, solver):
    config = TrainConfig("logistic", [cancer[0]], solver=solver, l2=L2, max_iter=200)
    resumed, straight = interrupted_and_straight(config, str(tmp_path / "ckpt"), 5)
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]
    assert objectives(resumed) == objectives(straight)


def test_resume_refuses_a_checkpoint_of_another_run(cancer, tmp_path):
    ckpt = str(tmp_path / "ckpt")
    with Runner("inline") as runner:
        train(TrainConfig("logistic", [cancer[0]], l2=L2, max_iter=2), runner, ckpt)
        with pytest.raises(MrlearnError, match="l2 differ"):
            train(TrainConfig("logistic", [cancer[0]], l2=0.1), runner, ckpt, resume=True)


def test_non_binary_labels_are_refused_with_file_and_line_named(diabetes):
    # sgd is binary only (newton, lbfgs and gd train a model of the classes found)
    with pytest.raises(MrlearnError, match=r"diabetes.csv, line 1: label 151: logistic needs "
                                           r"labels 0/1 or -1/1"):
        fit("logistic", diabetes[0], solver="sgd")
