"""GIANT, the default solver for wide sparse input: its kernels against numpy's linear
algebra, its fits against scikit-learn / scipy, its guard (fallback to L-BFGS), resume."""
import json

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import minimize
from sklearn.datasets import dump_svmlight_file
from sklearn.linear_model import LogisticRegression

from bench.wide import logistic_objective, rcv1_like
from conftest import fit, interrupted_and_straight, run_cli, theta_of
from driver.solvers import Giant
from driver.train import TrainConfig
from jobs.kernels import line_sums, newton_direction_sums
from jobs.parsing import SparseRows, stack_rows

L2 = 1e-3


def sparse_rows(X):
    X = sparse.coo_matrix(X)
    return SparseRows(X.row.astype(np.int64), X.col.astype(np.int64), X.data, X.shape)


def wide_problem(tmp_path, n=3000, bits=11, seed=0):
    """rcv1-like rows (Zipf features, unit norm), written as libsvm: (path, X, y)."""
    X, y = rcv1_like(n, bits, nnz=20, seed=seed)
    path = str(tmp_path / "wide.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    return path, X, y


def sklearn_theta(X, y, l2):
    sk = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-12, max_iter=1000,
                            solver="newton-cholesky").fit(X, y)
    return np.append(sk.coef_[0], sk.intercept_)


@pytest.mark.parametrize("as_sparse", [False, True])
@pytest.mark.parametrize("loss", ["logistic", "squared", "squared_hinge"])
def test_newton_direction_solves_the_splits_hessian_system(loss, as_sparse):
    """The local direction is H_i^-1 g for H_i built explicitly with numpy."""
    rng = np.random.default_rng(1)
    X = sparse.random(400, 30, density=0.2, random_state=1).toarray()
    y = (rng.random(400) < 0.5).astype(float)
    y_loss = y if loss == "logistic" else 2 * y - 1
    theta, grad, w = rng.normal(size=31) * 0.3, rng.normal(size=31), rng.random(400) + 0.5
    z = X @ theta[:-1] + theta[-1]
    d2 = {"logistic": np.exp(-np.logaddexp(0, -z)) * np.exp(-np.logaddexp(0, z)),
          "squared": np.ones(400), "squared_hinge": 2.0 * (y_loss * z < 1)}[loss]
    Xb = np.column_stack([X, np.ones(400)])
    H = Xb.T @ (Xb * (w * d2)[:, None]) / w.sum() + np.diag(np.append(np.full(30, 0.1), 1e-10))
    sums = newton_direction_sums(loss, sparse_rows(X) if as_sparse else X, y_loss, theta,
                                 grad, 0.1, weights=w)
    assert sums["direction_weight"] == pytest.approx(w.sum())
    np.testing.assert_allclose(sums["direction_sum"] / w.sum(), np.linalg.solve(H, grad),
                               rtol=1e-3, atol=1e-4 * np.linalg.norm(np.linalg.solve(H, grad)))
    assert 0 < sums["cg_iterations_max"] < 60


def test_line_sums_are_the_objective_along_the_line():
    X, y = rcv1_like(500, 8, nnz=10, seed=2)
    rng = np.random.default_rng(2)
    theta, direction, steps = rng.normal(size=257), rng.normal(size=257), [1.0, 0.5, 0.1]
    sums = line_sums("logistic", sparse_rows(X), y, theta, direction, steps)
    for j, t in enumerate(steps):
        F, G = logistic_objective(theta + t * direction, X, y, 0.0)
        assert sums["loss"][j] / 500 == pytest.approx(F, rel=1e-12)
        if j == 0:
            np.testing.assert_allclose(sums["grad"][0] / 500, G, rtol=1e-10, atol=1e-14)
    assert sums["grad"].shape == (1, 257)


def test_stacked_sparse_blocks_are_the_rows_in_order():
    A, B = sparse.random(3, 5, density=0.5, random_state=0), sparse.random(2, 5, density=0.5,
                                                                          random_state=1)
    stacked = stack_rows([sparse_rows(A), sparse_rows(B)])
    np.testing.assert_array_equal(stacked.toarray(), sparse.vstack([A, B]).toarray())


def test_wide_input_defaults_to_giant_and_reaches_sklearns_optimum(tmp_path):
    path, X, y = wide_problem(tmp_path)
    model = fit("logistic", path, l2=L2, n_features=X.shape[1], tol=1e-12)
    assert model["solver"] == "giant" and model["converged"]
    best = sklearn_theta(X, y, L2)
    np.testing.assert_allclose(theta_of(model), best, atol=1e-6)
    lbfgs = fit("logistic", path, l2=L2, n_features=X.shape[1], tol=1e-12, solver="lbfgs",
                max_iter=500)
    F, _ = logistic_objective(best, X, y, L2)

    def passes_to(model, gap):
        return next(e["pass"] for e in model["history"] if e["objective"] - F <= gap * F)
    assert passes_to(model, 1e-6) <= 8 and 3 * passes_to(model, 1e-6) < passes_to(lbfgs, 1e-6)


@pytest.mark.local_runner
def test_giant_on_local_mappers_reaches_the_optimum_in_few_passes(tmp_path):
    """Two splits: directions from each half's Hessian; same optimum as one split."""
    path, X, y = wide_problem(tmp_path, n=6000)
    model = fit("logistic", path, runner="local", mappers=2, l2=L2, n_features=X.shape[1],
                tol=1e-12)
    F, _ = logistic_objective(theta_of(model), X, y, L2)
    best, _ = logistic_objective(sklearn_theta(X, y, L2), X, y, L2)
    assert F == pytest.approx(best, rel=1e-10)
    gaps = [(e["objective"] - best) / best for e in model["history"]]
    assert next(i for i, g in enumerate(gaps) if g <= 1e-6) < 12
    assert any("cg_iterations" in e for e in model["history"])


def reference_objective(algo, X, y, l2):
    """mrlearn's objective for ``algo`` on (X, y) as a function ``theta -> (F, G)``
    written with scipy.sparse."""
    if algo == "logistic":
        return lambda theta: logistic_objective(theta, X, y, l2)
    Xb = sparse.hstack([X, np.ones((X.shape[0], 1))]).tocsr()
    mask = np.append(np.ones(X.shape[1]), 0.0)
    s = 2 * y - 1

    def objective(theta):
        z = Xb @ theta
        if algo == "linear":
            r, loss = z - y, 0.5 * (z - y) @ (z - y)
        else:
            slack = np.maximum(0, 1 - s * z)
            r, loss = -2 * s * slack, slack @ slack
        ridge = mask * theta
        return loss / len(y) + 0.5 * l2 * ridge @ theta, Xb.T @ r / len(y) + l2 * ridge
    return objective


def reference_theta(algo, X, y, l2):
    """The optimum of mrlearn's objective for ``algo`` on (X, y): scikit-learn's for
    logistic, the normal equations for least squares, scipy's L-BFGS-B for the squared
    hinge."""
    if algo == "logistic":
        return sklearn_theta(X, y, l2)
    if algo == "linear":
        Xb = sparse.hstack([X, np.ones((X.shape[0], 1))]).tocsr()
        A = (Xb.T @ Xb).toarray() / len(y) + l2 * np.diag(np.append(np.ones(X.shape[1]), 0))
        return np.linalg.solve(A, Xb.T @ y / len(y))
    return minimize(reference_objective(algo, X, y, l2), np.zeros(X.shape[1] + 1), jac=True,
                    method="L-BFGS-B", options={"ftol": 1e-16, "gtol": 1e-12,
                                                "maxiter": 20000}).x


@pytest.mark.parametrize("algo", ["linear", "svm"])
def test_giant_fits_least_squares_and_squared_hinge(tmp_path, algo):
    """Splits of ~750 rows for 128 features: GIANT all the way."""
    path, X, y = wide_problem(tmp_path, n=3000, bits=7)
    model = fit(algo, path, solver="giant", l2=L2, tol=1e-13, n_features=X.shape[1])
    np.testing.assert_allclose(theta_of(model), reference_theta(algo, X, y, L2), atol=2e-6)
    assert model["solver"] == "giant" and model["converged"]
    assert not any("fallback" in e for e in model["history"])


@pytest.mark.parametrize("algo", ["logistic", "linear", "svm"])
def test_giant_falls_back_to_lbfgs_on_small_splits_and_costs_about_as_many_passes(tmp_path,
                                                                                 algo):
    """Splits of ~375 rows for 1024 features: each split's Hessian is a poor stand-in for
    the whole one; GIANT notices within a few passes and goes on as L-BFGS."""
    path, X, y = wide_problem(tmp_path, n=1500, bits=10)
    options = dict(l2=L2 if algo != "logistic" else 1e-4, n_features=X.shape[1], tol=1e-10,
                   max_iter=300)
    giant = fit(algo, path, solver="giant", **options)
    lbfgs = fit(algo, path, solver="lbfgs", **options)
    objective = reference_objective(algo, X, y, options["l2"])
    best, _ = objective(reference_theta(algo, X, y, options["l2"]))
    assert giant["converged"] and objective(theta_of(giant))[0] == pytest.approx(best, rel=2e-8)
    assert len([e for e in giant["history"] if "fallback" in e]) == 1

    def passes_to(model, gap):
        return next(e["pass"] for e in model["history"] if e["objective"] - best <= gap * best)
    assert passes_to(giant, 1e-6) <= passes_to(lbfgs, 1e-6) + 3


def test_giant_with_balanced_class_weights_equals_sklearn(tmp_path):
    path, X, y = wide_problem(tmp_path, n=2000, bits=10, seed=3)
    keep = (y == 1) | (np.arange(len(y)) % 3 == 0)  # unbalance the classes
    X, y = X[keep], y[keep]
    dump_svmlight_file(X, y, path, zero_based=False)
    model = fit("logistic", path, l2=L2, n_features=X.shape[1], class_weight="balanced",
                tol=1e-13)
    assert model["solver"] == "giant"
    counts = np.bincount(y.astype(int))
    weights = (len(y) / (2 * counts))[y.astype(int)]
    sk = LogisticRegression(C=1 / (L2 * weights.sum()), tol=1e-12, max_iter=100000).fit(
        X, y, sample_weight=weights)
    np.testing.assert_allclose(theta_of(model), np.append(sk.coef_[0], sk.intercept_),
                               atol=1e-6)


def _records_at(X, y, thetas, l2=0.0):
    """What an objective pass would report at ``thetas`` (numpy reference)."""
    loss, grad = [], []
    for theta in thetas:
        F, G = logistic_objective(theta, X, y, 0.0)
        loss.append(F * len(y))
        grad.append(G * len(y))
    z = X @ thetas[0][:-1] + thetas[0][-1]
    d2 = np.exp(-np.logaddexp(0, z) - np.logaddexp(0, -z))
    diagonal = np.append(X.multiply(X).T @ d2, d2.sum())
    return {"n": len(y), "loss": loss, "grad": grad, "hess_diag": diagonal}


def test_a_failed_unit_step_falls_back_to_lbfgs_and_keeps_descending():
    """The guard, driven by hand: a direction whose unit step is far too long."""
    X, y = rcv1_like(300, 7, nnz=10, seed=4)
    solver = Giant(X.shape[1] + 1, 1e-10, loss="logistic", l2=L2)
    solver.update(_records_at(X, y, solver.candidates()))
    assert solver.phase == "direction" and solver.job.__name__ == "MRGiantPass"
    solver.update({"direction_sum": 50.0 * solver.g * 300, "direction_weight": 300.0,
                   "cg_iterations_max": 3, "n": 300})
    assert solver.phase == "step"
    params = solver.pass_params()["line"]
    thetas = [np.asarray(params["theta"]) + t * np.asarray(params["direction"])
              for t in params["steps"]]
    record = _records_at(X, y, thetas)
    record["grad"] = record["grad"][:1]  # the step pass's gradient: the unit step's only
    f_before = solver.f
    info = solver.update(record)
    assert not info["accepted"] and solver.phase == "lbfgs" and solver.f == f_before
    for _ in range(40):
        if solver.done:
            break
        solver.update(_records_at(X, y, solver.candidates()))
    F, _ = logistic_objective(solver.x, X, y, L2)
    best, _ = logistic_objective(sklearn_theta(X, y, L2), X, y, L2)
    assert solver.f < f_before and F == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("interrupt_after", [2, 3])  # after a step pass / a direction pass
def test_resume_mid_giant_ends_with_the_uninterrupted_model(tmp_path, interrupt_after):
    path, X, _ = wide_problem(tmp_path, n=1000, bits=10)
    config = TrainConfig("logistic", [path], l2=L2, n_features=X.shape[1], format="libsvm")
    resumed, straight = interrupted_and_straight(config, str(tmp_path / "ck"), interrupt_after)
    assert straight["solver"] == "giant"
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]


def test_wide_multiclass_falls_back_to_lbfgs(tmp_path):
    X, _ = rcv1_like(900, 10, nnz=15, seed=5)
    y = np.arange(900) % 3
    path = str(tmp_path / "three.svm")
    dump_svmlight_file(X, y, path, zero_based=False)
    model = fit("logistic", path, l2=L2, n_features=X.shape[1], tol=1e-10, max_iter=300)
    assert model["solver"] == "lbfgs" and model["multiclass"] == "multinomial"
    sk = LogisticRegression(C=1 / (L2 * 900), tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(model["coef"], sk.coef_, atol=1e-4)


@pytest.mark.parametrize("argv, message", [
    (["--solver", "giant", "--l1-ratio", "0.5"], "--l1-ratio (elastic net) needs --solver"),
    (["--solver", "giant", "--multiclass", "ovr"], "--multiclass ovr applies to"),
    (["--solver", "giant", "--algo", "svm", "--loss", "hinge"], "the hinge loss is not "),
])
def test_giant_misuse_is_refused_in_one_line(tmp_path, capsys, argv, message):
    path, X, _ = wide_problem(tmp_path, n=50, bits=10)
    base = ["train", "--algo", "logistic", "--input", path, "--n-features", X.shape[1],
            "--model", tmp_path / "m.json"]
    if "--algo" in argv:
        i = argv.index("--algo")
        base[2], argv = argv[i + 1], argv[:i] + argv[i + 2:]
    assert run_cli(*(base + argv)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "m.json").exists()


def test_a_giant_model_predicts_like_sklearn(tmp_path, capsys):
    path, X, y = wide_problem(tmp_path, n=1500, bits=10)
    model = fit("logistic", path, l2=L2, n_features=X.shape[1], tol=1e-12)
    model_path = tmp_path / "m.json"
    model_path.write_text(json.dumps(model))
    out = tmp_path / "pred"
    assert run_cli("predict", "--model", model_path, "--input", path, "--output", out) == 0
    probability = [float(line.split(",")[1]) for line in open(out / "part-00000")]
    sk = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(probability, sk.predict_proba(X)[:, 1], atol=1e-6)
