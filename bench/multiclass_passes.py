"""Multiclass passes and objective gaps on iris, wine and digits (README table).

    python bench/multiclass_passes.py        # inline runner, about 2 minutes

Data: scikit-learn's iris (150 x 4, 3 classes), wine (178 x 13, 3) and digits
(1797 x 64, 10), standardized, l2 = 1e-3. Multinomial logistic regression against
``LogisticRegression(C=1/(l2 n), tol=1e-12)``; one-vs-rest squared-hinge svm against the
sum over classes of each binary problem's optimum (scipy L-BFGS-B to 1e-16), and its
accuracy against ``LinearSVC(C=1/(l2 n), intercept_scaling=100)``. Prints a Markdown table.
"""
import os
import sys
import tempfile

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import write_csv  # noqa: E402
from bench.reference import objective_and_gradient  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402

L2 = 1e-3
LOADERS = {"iris": load_iris, "wine": load_wine, "digits": load_digits}


def softmax_objective(X, y, coef, intercept):
    Z = X @ np.asarray(coef).T + intercept
    k = np.searchsorted(np.unique(y), y)
    return (logsumexp(Z, axis=1) - Z[np.arange(len(y)), k]).mean() + 0.5 * L2 * np.sum(
        np.square(coef))


def ovr_optimum(X, y):
    return sum(minimize(lambda t: objective_and_gradient(
        "squared_hinge", X, np.where(y == c, 1.0, -1.0), t, L2), np.zeros(X.shape[1] + 1),
        jac=True, method="L-BFGS-B", options={"maxiter": 20000, "ftol": 1e-16,
                                              "gtol": 1e-13}).fun for c in np.unique(y))


def main():
    print("| dataset | K | model | solver | passes | stopped because | objective gap | accuracy "
          "(scikit-learn) |")
    print("|---|---:|---|---|---:|---|---:|---|")
    with tempfile.TemporaryDirectory() as tmp, Runner("inline") as runner:
        for name, load in LOADERS.items():
            X, y = load(return_X_y=True)
            X, y = StandardScaler().fit_transform(X), y.astype(float)
            path = write_csv(os.path.join(tmp, name + ".csv"), y, X)
            n, K = len(y), len(np.unique(y))
            clf = LogisticRegression(C=1 / (L2 * n), tol=1e-12, max_iter=100000).fit(X, y)
            best = softmax_objective(X, y, clf.coef_, clf.intercept_)
            for solver in ("newton", "lbfgs"):
                model = train(TrainConfig("logistic", [path], solver=solver, l2=L2), runner)
                gap = softmax_objective(X, y, model["coef"], model["intercept"]) / best - 1
                acc = np.mean((X @ np.asarray(model["coef"]).T + model["intercept"]).argmax(1)
                              == y)
                print("| %s | %d | multinomial | %s | %d | %s | %.1e | %.4f (%.4f) |" % (
                    name, K, solver, model["n_passes"], model["stop_reason"], gap, acc,
                    clf.score(X, y)))
            model = train(TrainConfig("svm", [path], l2=L2), runner)
            W, b = np.asarray(model["coef"]), np.asarray(model["intercept"])
            svc = LinearSVC(C=1 / (L2 * n), intercept_scaling=100, tol=1e-10,
                            max_iter=100000).fit(X, y)
            print("| %s | %d | one-vs-rest svm | newton | %d | %s | %.1e | %.4f (%.4f) |" % (
                name, K, model["n_passes"], model["stop_reason"].split(" (")[0],
                model["objective"] / ovr_optimum(X, y) - 1,
                np.mean((X @ W.T + b).argmax(1) == y), svc.score(X, y)))


if __name__ == "__main__":
    main()
