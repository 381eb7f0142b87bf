"""Newton's pass: one Hessian, one solve, and scikit-learn's stopping rule."""
import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from conftest import fit, objective, write_csv
from driver.inputs import describe_inputs
from driver.passes import Runner, run_pass
from driver.solvers import Newton
from jobs.kernels import encode_labels, loss_sums


def test_a_newton_pass_sums_one_hessian_at_the_full_step(cancer):
    path, X, y = cancer
    p = X.shape[1] + 1
    solver = Newton(p, loss="logistic", l2=1e-3)
    spec = describe_inputs([path])
    with Runner("inline") as runner:
        solver.update(run_pass(solver.job, dict(spec.params(), **solver.pass_params()),
                               spec.files, runner))
        thetas = solver.candidates()
        record = run_pass(solver.job, dict(spec.params(), **solver.pass_params()), spec.files,
                          runner)
    assert len(thetas) == 4 and len(record["loss"]) == 4
    z = X @ thetas[0, :-1] + thetas[0, -1]   # the full Newton step
    s = np.exp(-np.logaddexp(0, -z)) * np.exp(-np.logaddexp(0, z))  # p (1 - p)
    A = np.column_stack([X, np.ones(len(y))])
    np.testing.assert_allclose(record["hess"], A.T @ (A * s[:, None]), rtol=1e-10)


def test_newton_solves_for_its_direction_once_per_pass(cancer, monkeypatch):
    calls = []
    solve = np.linalg.solve
    monkeypatch.setattr(np.linalg, "solve", lambda *a: calls.append(1) or solve(*a))
    model = fit("logistic", cancer[0], l2=1e-3)
    assert len(calls) == model["n_passes"]


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """Two separable blobs: with a tiny l2 the optimum objective is near zero."""
    X, y = make_blobs(400, 2, centers=[[-3, -3], [3, 3]], random_state=0)
    return write_csv(tmp_path_factory.mktemp("blobs") / "blobs.csv", y, X), X, y.astype(float)


def test_separable_data_stops_within_tol_of_sklearn_in_few_passes(blobs):
    path, X, y = blobs
    l2 = 1e-8
    model = fit("logistic", path, l2=l2)
    clf = LogisticRegression(C=1 / (l2 * len(y)), solver="newton-cholesky", tol=1e-12,
                             max_iter=1000).fit(X, y)
    best = objective("logistic", X, y, np.append(clf.coef_[0], clf.intercept_), l2)[0]
    assert model["converged"] and model["n_passes"] <= 16  # 21 with a relative rule
    # the rule's promise: gap <= tol * objective at w = 0 (default tol 1e-6)
    assert -1e-12 <= model["objective"] - best <= 1e-6 * np.log(2)
    assert model["objective"] < 1e-6


def test_a_shorter_step_is_followed_by_a_pass_for_the_hessian_there():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((50, 2)) * 30
    y = encode_labels((X @ [1.0, -1.0] + rng.standard_normal(50) * 5 > 0).astype(float),
                      "squared_hinge")
    solver, history = Newton(3, tol=1e-6, loss="squared_hinge", l2=1e-3), []
    while not solver.done:
        params = solver.pass_params()
        history.append(solver.update(loss_sums("squared_hinge", X, y, np.array(params["thetas"]),
                                               2, params["hess_at"])))
    short = [i for i, h in enumerate(history) if h["accepted"] and 0 < h["step"] < 1]
    assert short and all(history[i + 1]["candidates"] == 1 for i in short)
    best = minimize(lambda t: objective("squared_hinge", X, y, t, 1e-3), np.zeros(3), jac=True,
                    method="L-BFGS-B", options={"ftol": 1e-16, "gtol": 1e-13}).fun
    assert solver.f == pytest.approx(best, rel=1e-9)
