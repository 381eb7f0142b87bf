"""Elastic net and lasso for least squares, from the one QR pass, against scikit-learn."""
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet, Lasso, enet_path

from conftest import fit, run_cli, write_csv


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    return write_csv(tmp_path_factory.mktemp("enet") / "diabetes.csv", y, X), X, y


@pytest.mark.parametrize("l2, l1_ratio", [(0.1, 1.0), (0.01, 0.5), (1e-3, 0.9), (1.0, 0.2)])
def test_elastic_net_equals_sklearn(diabetes_csv, l2, l1_ratio):
    path, X, y = diabetes_csv
    model = fit("linear", path, l2=l2, l1_ratio=l1_ratio, mappers=3)
    sk = ElasticNet(alpha=l2, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(model["coef"], sk.coef_, rtol=1e-6, atol=1e-6)
    assert model["intercept"] == pytest.approx(sk.intercept_, rel=1e-9)
    assert model["n_nonzero"] == np.count_nonzero(sk.coef_)
    assert (np.asarray(model["coef"]) == 0).tolist() == (sk.coef_ == 0).tolist()
    assert model["n_passes"] == 1 and "unavailable" in model["summary"]
    residual = y - X @ sk.coef_ - sk.intercept_
    objective = (0.5 * np.mean(residual ** 2) + l2 * (l1_ratio * np.abs(sk.coef_).sum()
                                                      + 0.5 * (1 - l1_ratio) * sk.coef_ @ sk.coef_))
    assert model["objective"] == pytest.approx(objective, rel=1e-10)


def test_lasso_path_equals_enet_path_at_every_lambda(diabetes_csv):
    """Issue 16's bar for diabetes: 20 lambdas, coefficients to 1e-6, same zeros."""
    path, X, y = diabetes_csv
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    alphas, coefs, _ = enet_path(Xc, yc, l1_ratio=1.0, n_alphas=20, tol=1e-14,
                                 max_iter=1_000_000)
    for alpha, coef in zip(alphas, coefs.T):
        model = fit("linear", path, l2=alpha, l1_ratio=1.0)
        np.testing.assert_allclose(model["coef"], coef, rtol=1e-6, atol=1e-6 * np.abs(coef).max(initial=1))
        assert (np.asarray(model["coef"]) == 0).tolist() == (coef == 0).tolist()


def test_lasso_of_weighted_rows_equals_sample_weight(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    w = np.random.default_rng(0).integers(1, 4, len(y)).astype(float)
    path = write_csv(tmp_path / "w.csv", y, np.column_stack([X, w]))
    model = fit("linear", path, l2=0.05, l1_ratio=1.0, weight_col=11)
    sk = Lasso(alpha=0.05, tol=1e-14, max_iter=1_000_000).fit(X, y, sample_weight=w / w.mean())
    np.testing.assert_allclose(model["coef"], sk.coef_, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--algo", "logistic", "--solver", "gd", "--l1-ratio", "0.5"],
     "--l1-ratio (elastic net) needs --solver normal (linear), newton or lbfgs, not gd"),
    (["--algo", "linear", "--solver", "sgd", "--l1-ratio", "1"], "or lbfgs, not sgd"),
    (["--algo", "logistic", "--multiclass", "ovr", "--l1-ratio", "1"],
     "--l1-ratio (elastic net) applies to binary and multinomial models, not --multiclass ovr"),
    (["--algo", "linear", "--solver", "newton", "--l1-ratio", "1", "--cv", "3"],
     "--lambdas and --cv apply to linear/normal, logistic/newton, svm/newton, not linear/newton"),
    (["--algo", "linear", "--l1-ratio", "1.5"], "argument --l1-ratio: must be between 0 and 1"),
    (["--algo", "linear", "--l1-ratio", "1", "--cv", "1"], "--cv needs at least 2 folds"),
    (["--algo", "svm", "--solver", "lbfgs", "--cv", "5"], "not svm/lbfgs"),
    (["--algo", "logistic", "--multiclass", "multinomial", "--cv", "3", "--l1-ratio", "1"],
     "--lambdas and --cv apply to binary models; drop --multiclass multinomial"),
    (["--algo", "logistic", "--cv", "5"], "a ridge path needs --lambdas"),
    (["--algo", "linear", "--l2", "0.1", "--cv", "5", "--l1-ratio", "1"],
     "give --l2 (one penalty) or --lambdas/--cv (a path), not both"),
    (["--algo", "linear", "--cv", "5"], "a ridge path needs --lambdas"),
    (["--algo", "linear", "--lambdas", "1:x:3"], "argument --lambdas: LO:HI:N or a comma"),
    (["--algo", "linear", "--lambdas", "1,-1"], "--lambdas must be distinct positive finite"),
])
def test_l1_ratio_misuse_is_one_line_before_any_pass(diabetes_csv, tmp_path, capsys, argv,
                                                     message):
    path = diabetes_csv[0]
    model = tmp_path / "m.json"
    try:
        code = run_cli("train", "--input", path, "--model", str(model), *argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not model.exists()


def sklearn_cv(X, y, folds, lambdas, l1_ratio):
    """Held-out MSE (K, L) of scikit-learn fits on each fold's training rows."""
    from sklearn.linear_model import Ridge
    out = np.empty((folds.max() + 1, len(lambdas)))
    for k in range(folds.max() + 1):
        train, test = folds != k, folds == k
        for i, lam in enumerate(lambdas):
            est = (ElasticNet(alpha=lam, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000)
                   if l1_ratio else Ridge(alpha=train.sum() * lam))
            est.fit(X[train], y[train])
            out[k, i] = np.mean((y[test] - est.predict(X[test])) ** 2)
    return out


@pytest.mark.parametrize("l1_ratio, lambdas", [(1.0, None), (0.5, None),
                                               (0.0, list(np.geomspace(1.0, 1e-4, 8)))])
def test_path_times_folds_in_one_pass_equals_refitting_each(diabetes_csv, l1_ratio, lambdas):
    """Issue 16's CV bar on least squares: the whole path times 5 folds from ONE pass; the
    held-out errors equal scikit-learn refitting every fold and lambda, the same
    lambda_min; 1 and 3 mappers agree (folds are fixed by row values)."""
    from jobs.folds import fold_of
    path, X, y = diabetes_csv
    options = dict(l1_ratio=l1_ratio, lambdas=lambdas, cv=5, seed=3)
    model = fit("linear", path, mappers=3, **options)
    assert model["n_passes"] == 1
    cv, grid = model["cv"], model["path"]["lambdas"]
    folds = fold_of(np.column_stack([X, y]), 3, 5)
    assert cv["fold_sizes"] == np.bincount(folds).tolist()
    reference = sklearn_cv(X, y, folds, grid, l1_ratio)
    np.testing.assert_allclose(cv["mse"], reference, rtol=1e-6)
    assert cv["lambda_min"] == grid[int(np.argmin(reference.T @ np.bincount(folds)))]
    full = (ElasticNet(alpha=cv["lambda_min"], l1_ratio=l1_ratio, tol=1e-14,
                       max_iter=1_000_000) if l1_ratio else None)
    if full is not None:
        np.testing.assert_allclose(model["coef"], full.fit(X, y).coef_, rtol=1e-6, atol=1e-6)
    if lambdas is None:  # the default path is scikit-learn's (eps=1e-3, 20 alphas)
        alphas, _, _ = enet_path(X - X.mean(axis=0), y - y.mean(), l1_ratio=l1_ratio,
                                 n_alphas=20, eps=1e-3)
        np.testing.assert_allclose(grid, alphas, rtol=1e-10)
    one = fit("linear", path, mappers=1, **options)
    np.testing.assert_allclose(one["cv"]["mse"], cv["mse"], rtol=1e-9)
    assert one["cv"]["lambda_min"] == cv["lambda_min"]


@pytest.mark.local_runner
def test_cv_on_local_mappers_equals_inline(diabetes_csv):
    path = diabetes_csv[0]
    options = dict(l1_ratio=0.5, cv=4, seed=1)
    local = fit("linear", path, runner="local", mappers=4, **options)
    inline = fit("linear", path, **options)
    np.testing.assert_allclose(local["cv"]["mse"], inline["cv"]["mse"], rtol=1e-9)
    assert local["cv"]["lambda_min"] == inline["cv"]["lambda_min"]
    np.testing.assert_allclose(local["coef"], inline["coef"], rtol=1e-9, atol=1e-12)
