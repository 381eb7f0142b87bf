"""Passes of a 20-lambda elastic-net path x 5-fold CV of logistic regression (issue 16).

    python -m bench.path_cv [--rows 100000]

On 100k rows x 20 features (8 informative, two correlated), l1_ratio 0.5, it counts:

- mrlearn: the passes of ``--cv 5`` (120 models in the same passes), and of one Newton fit
  at the smallest lambda;
- glmnet's way (``cv.glmnet``): the path fitted K + 1 times, each lambda warm-started from
  the previous one, each IRLS / proximal Newton step one pass over the data. Counted with
  mrlearn's proximal Newton on in-process sums (the same algorithm: quadratic model, CD,
  line search), so a pass here is a pass there;
- Spark MLlib's ``CrossValidator`` over the same grid: K x L fits plus the refit, each
  ``totalIterations`` OWL-QN iterations (one Spark job over the data each); measured per
  lambda on all rows with pyspark in local[2] (when pyspark is installed), times K + 1.

It also checks the CV curve against scikit-learn refitting every fold and lambda (saga at
tol 1e-12): the largest relative difference in held-out deviance and whether lambda_min
agrees. Writes ``bench/results/path_cv.json`` and prints a Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from driver.passes import Runner
from driver.solvers import ProximalNewton
from driver.train import TrainConfig, train
from jobs.folds import fold_of
from jobs.kernels import loss_sums

L1_RATIO, FOLDS, SEED = 0.5, 5, 3
RESULTS = os.path.join(os.path.dirname(__file__), "results", "path_cv.json")


def logistic_problem(n, d=20, seed=1):
    """``(X, y)``: 8 informative of ``d`` features, two of them correlated."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 1] += 0.8 * X[:, 0]
    w = np.zeros(d)
    w[:8] = rng.normal(size=8)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(0.7 * X @ w + 0.3)))).astype(float)
    return X, y


def warm_started_path_passes(X, y, lambdas, tol=1e-6):
    """Passes of one glmnet-style path fit: lambda after lambda, each from the last."""
    passes, start = 0, np.zeros(X.shape[1] + 1)
    for lam in lambdas:
        solver = ProximalNewton(len(start), tol, loss="logistic", l2=lam, l1_ratio=L1_RATIO)
        solver.x0 = start
        while not solver.done:
            solver.update(loss_sums("logistic", X, y, solver.candidates(), 2))
            passes += 1
        start = solver.x
    return passes


def spark_iterations(csv, lambdas):
    """OWL-QN iterations of Spark MLlib per lambda on all rows, or None without pyspark."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return None
    out = subprocess.run([sys.executable, "-m", "bench.spark_fit", csv, json.dumps(lambdas),
                          str(L1_RATIO)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["iterations"]


def sklearn_deviance(X, y, folds, lambdas):
    """Held-out deviance (K, L) of scikit-learn's saga refitting each fold and lambda."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    out = np.empty((FOLDS, len(lambdas)))
    for k in range(FOLDS):
        train_rows, test = folds != k, folds == k
        for i, lam in enumerate(lambdas):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = LogisticRegression(penalty="elasticnet", solver="saga", l1_ratio=L1_RATIO,
                                         C=1.0 / (lam * train_rows.sum()), tol=1e-12,
                                         max_iter=100000).fit(X[train_rows], y[train_rows])
            out[k, i] = 2 * log_loss(y[test], est.predict_proba(X[test])[:, 1])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    X, y = logistic_problem(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "path.csv")
        np.savetxt(csv, np.column_stack([y, X]), delimiter=",", fmt="%.17g")
        with Runner("inline") as runner:
            started = time.time()
            model = train(TrainConfig("logistic", [csv], lambdas="auto", cv=FOLDS,
                                      l1_ratio=L1_RATIO, seed=SEED), runner)
            seconds = time.time() - started
            lambdas = model["path"]["lambdas"]
            single = train(TrainConfig("logistic", [csv], l2=lambdas[-1], l1_ratio=L1_RATIO),
                           runner)
        spark = spark_iterations(csv, lambdas)
    glmnet = warm_started_path_passes(X, y, lambdas)
    folds = fold_of(np.column_stack([X, y]), SEED, FOLDS)
    reference = sklearn_deviance(X, y, folds, lambdas)
    sizes = np.bincount(folds)
    results = {
        "rows": args.rows, "features": X.shape[1], "lambdas": len(lambdas), "folds": FOLDS,
        "mrlearn_path_cv_passes": model["n_passes"], "mrlearn_path_cv_seconds": round(seconds, 1),
        "mrlearn_single_fit_passes": single["n_passes"],
        "glmnet_path_passes": glmnet, "glmnet_cv_passes": glmnet * (FOLDS + 1),
        "spark_iterations_per_lambda": spark,
        "spark_cv_passes": None if spark is None else (
            FOLDS * sum(spark) + spark[lambdas.index(model["cv"]["lambda_min"])]),
        "cv_deviance_max_rel_diff_vs_sklearn": float(np.max(np.abs(
            np.asarray(model["cv"]["errors"]) - reference) / reference)),
        "lambda_min_equal": lambdas[int(np.argmin(sizes @ reference))] == model["cv"]["lambda_min"],
    }
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(results, f, indent=1)
    print("| | passes over the data |\n|---|---|")
    print("| mrlearn `--cv 5` (20 lambdas x 6 models) | %d |" % results["mrlearn_path_cv_passes"])
    print("| mrlearn, one fit at the smallest lambda | %d |" % results["mrlearn_single_fit_passes"])
    print("| cv.glmnet's way (6 warm-started paths) | %d |" % results["glmnet_cv_passes"])
    print("| Spark CrossValidator (100 fits + refit) | %s |" % results["spark_cv_passes"])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
