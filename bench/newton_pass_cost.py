"""What one Newton pass costs in its map tasks, and how many passes Newton takes.

    OPENBLAS_NUM_THREADS=1 python bench/newton_pass_cost.py     # about a minute

1. Map CPU and record size of the second pass (the first with 4 trial steps) on
   ``make_classification`` logistic data (200k rows x 20 features, l2 = 1e-3): the job's
   own ``process_block`` over 8192-row blocks, with the parameters the solver asks for.
2. Passes, stop reason and final objective of Newton (inline runner) on the README's
   datasets: breast_cancer standardized (logistic and squared-hinge svm, l2 = 1e-3), the
   demo data (``driver/data/breast_cancer_train.csv.gz``, logistic, l2 = 1e-3) and a
   separable two-blob set (logistic, l2 = 1e-6).
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, make_blobs, make_classification
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import write_csv  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.solvers import Newton  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402
from jobs.objective_pass import MRObjectivePass  # noqa: E402
from jobs.records import to_json  # noqa: E402

BLOCK_ROWS = 8192
DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "driver", "data", "breast_cancer_train.csv.gz")


def job_pass(params, X, y):
    """(CPU seconds, record) of MRObjectivePass's blocks over ``X``, ``y`` with ``params``."""
    job = MRObjectivePass(args=[])
    job.params, job.split_record = params, {"n": 0, "bad_rows": 0, "first_bad": None}
    job.init_split()
    started = time.process_time()
    for lo in range(0, len(y), BLOCK_ROWS):
        job.process_block(X[lo:lo + BLOCK_ROWS], y[lo:lo + BLOCK_ROWS], None)
    return time.process_time() - started, job.split_record


def pass_cost(repeats=5):
    X, y = make_classification(200000, 20, n_informative=10, random_state=0)
    solver = Newton(X.shape[1] + 1, loss="logistic", l2=1e-3)
    solver.update(job_pass(solver.pass_params(), X, y.astype(float))[1])
    params = solver.pass_params()
    cpu = min(job_pass(params, X, y.astype(float))[0] for _ in range(repeats))
    record = job_pass(params, X, y.astype(float))[1]
    print("newton pass 2, 200000 x 20 logistic: %d candidates, map CPU %.3f s, record %d bytes"
          % (len(params["thetas"]), cpu, len(json.dumps(to_json(record)))))


def runs(tmp):
    X, y = load_breast_cancer(return_X_y=True)
    cancer = write_csv(os.path.join(tmp, "cancer.csv"), y.astype(float),
                       StandardScaler().fit_transform(X))
    Xb, yb = make_blobs(400, 2, centers=[[-3, -3], [3, 3]], random_state=0)
    blobs = write_csv(os.path.join(tmp, "blobs.csv"), yb.astype(float), Xb)
    return [("logistic", "breast_cancer", cancer, 1e-3), ("svm", "breast_cancer", cancer, 1e-3),
            ("logistic", "demo", DEMO, 1e-3), ("logistic", "separable blobs", blobs, 1e-6)]


def pass_counts():
    print("| algo | dataset | l2 | passes | stopped because | objective |")
    print("|---|---|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp, Runner("inline") as runner:
        for algo, name, path, l2 in runs(tmp):
            model = train(TrainConfig(algo, [path], l2=l2), runner)
            print("| %s | %s | %g | %d | %s | %r |" % (algo, name, l2, model["n_passes"],
                                                      model["stop_reason"], model["objective"]))


if __name__ == "__main__":
    pass_cost()
    pass_counts()
