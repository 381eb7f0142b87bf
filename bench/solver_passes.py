"""Passes each solver takes, and how close it ends to the exact optimum (README table).

    python bench/solver_passes.py            # inline runner, about 30 s

Datasets: scikit-learn's breast_cancer (569 x 30, standardized; logistic and SVM with
l2 = 1e-3) and diabetes (442 x 10, as shipped; least squares). Reference optima:
LogisticRegression(C=1/(l2 n), tol=1e-10) for logistic, scipy L-BFGS-B to 1e-16 for the
squared hinge, numpy's lstsq for least squares. Prints a Markdown table.
"""
import os
import sys
import tempfile

import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import write_csv  # noqa: E402
from bench.reference import logistic_optimum, objective_and_gradient  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402

L2 = 1e-3
RUNS = [  # (algo, dataset, l2, solvers)
    ("logistic", "breast_cancer", L2, ("newton", "lbfgs", "gd")),
    ("svm", "breast_cancer", L2, ("newton", "lbfgs", "gd")),
    ("linear", "diabetes", 0.0, ("normal", "newton", "lbfgs", "gd")),
]


def datasets(tmp):
    X, y = load_breast_cancer(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    out = {}
    for name, (A, b) in {"breast_cancer": (StandardScaler().fit_transform(X), y.astype(float)),
                         "diabetes": (Xd, yd)}.items():
        out[name] = (write_csv(os.path.join(tmp, name + ".csv"), b, A), A, b)
    return out


def optimum(algo, X, y, l2):
    if algo == "logistic":
        return logistic_optimum(X, y, l2)["objective"]
    if algo == "svm":
        return minimize(lambda t: objective_and_gradient("squared_hinge", X, y, t, l2),
                        np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                        options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-13}).fun
    theta = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    return objective_and_gradient("squared", X, y, theta, 0.0)[0]


def main():
    with tempfile.TemporaryDirectory() as tmp, Runner("inline") as runner:
        data = datasets(tmp)
        print("| algo | dataset | solver | loss | passes | stopped because | objective gap |")
        print("|---|---|---|---|---:|---|---:|")
        for algo, name, l2, solvers in RUNS:
            path, X, y = data[name]
            best = optimum(algo, X, y, l2)
            for solver in solvers:
                model = train(TrainConfig(algo, [path], solver=solver, l2=l2, max_iter=300), runner)
                gap = (model["objective"] - best) / abs(best)
                gap_text = "n/a (hinge)" if model["loss"] == "hinge" else "%.1e" % gap
                print("| %s | %s | %s | %s | %d | %s | %s |" % (
                    algo, name, solver, model["loss"], model["n_passes"], model["stop_reason"],
                    gap_text))


if __name__ == "__main__":
    main()
