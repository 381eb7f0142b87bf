"""Passes to a given objective gap on 1M rows: Newton-type solvers vs SGD and mixing.

    python bench/stochastic_1m.py [--rows 1000000]

Data: ``make_classification(n_samples=ROWS, n_features=20, n_informative=10,
n_redundant=5, flip_y=0.05, random_state=7)``, logistic loss, l2 = 1e-4; optimum from
scikit-learn ``LogisticRegression(C=1/(l2 n), tol=1e-10)``. Each solver runs on the inline
runner with 2 input splits; prints the relative gap of the objective after each pass.
"""
import os
import sys
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import logistic_data, rows_argument  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402
from jobs.kernels import loss_sums  # noqa: E402

L2 = 1e-4
RUNS = [("newton", 20), ("lbfgs", 100), ("sgd", 50), ("mixing", 5)]


def objective(X, y, theta):
    w = theta[:-1]
    return loss_sums("logistic", X, y, theta[None, :], 0)["loss"][0] / len(y) + 0.5 * L2 * w @ w


def main():
    X, y = logistic_data(rows_argument(__doc__))
    clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-10, max_iter=10000).fit(X, y)
    best = objective(X, y, np.append(clf.coef_[0], clf.intercept_))
    print("| solver | passes | final relative gap | gap after pass 1, 2, 3, ... | seconds |")
    print("|---|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp, Runner("inline", mappers=1) as runner:
        path = os.path.join(tmp, "data.csv")
        np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.17g")
        for solver, max_iter in RUNS:
            started = time.time()
            model = train(TrainConfig("logistic", [path], solver=solver, l2=L2,
                                      max_iter=max_iter), runner)
            final = objective(X, y, np.append(model["coef"], model["intercept"]))
            # sgd and mixing report the objective of each pass's starting model; the
            # line-search solvers that of the model each pass ends with
            stochastic = solver in ("sgd", "mixing")
            gaps = [(h["objective"] - best) / best
                    for h in model["history"][1 if stochastic else 0:]]
            if stochastic:
                gaps.append((final - best) / best)
            shown = ", ".join("%.0e" % g for g in gaps[:6]) + (" ..." if len(gaps) > 6 else "")
            print("| %s | %d | %.1e | %s | %.0f |" % (solver, model["n_passes"], gaps[-1], shown,
                                                      time.time() - started), flush=True)


if __name__ == "__main__":
    main()
