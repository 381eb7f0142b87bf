"""Passes to scikit-learn's optimum: every logistic solver, and k-means' inertia.

Each run trains in this process on the inline runner over the packed copy of the data
(pass counts and objectives do not depend on the runner or on CSV vs packed input; the
time per pass does, and is measured by :mod:`bench.pass_cost`). The objective after
every pass comes from the model's history (see :func:`objectives_after_passes`).
"""
import time

import numpy as np

from bench.reference import (KMEANS_K, L2, TARGET_GAP, inertia, logistic_objective,
                             relative_gap)
from driver.model import model_theta
from driver.passes import Runner
from driver.train import TrainConfig, train

PASS_BUDGETS = {"newton": 20, "lbfgs": 100, "gd": 300, "sgd": 50, "mixing": 10}
"""--max-iter of each solver: the passes it may spend trying to reach the optimum."""
STOCHASTIC_SOLVERS = ("sgd", "mixing")


def objectives_after_passes(model, X, y):
    """Objective of the model after each pass, shape (n_passes,).

    Line-search solvers record the objective of the model each pass ends with; sgd and
    mixing that of the model each pass *started* from, so theirs shift by one and the
    last comes from the final model, computed here on ``X`` (n, d), ``y`` (n,).
    """
    recorded = [entry["objective"] for entry in model["history"]]
    if model["solver"] not in STOCHASTIC_SOLVERS:
        return np.array(recorded)
    return np.array(recorded[1:] + [logistic_objective(X, y, model_theta(model))])


def first_pass_within(gaps, target=TARGET_GAP):
    """1-based index of the first gap <= ``target``, or None."""
    reached = np.flatnonzero(np.asarray(gaps) <= target)
    return int(reached[0]) + 1 if reached.size else None


def solver_run(solver, packed_dir, X, y, optimum):
    """Train ``solver`` on ``packed_dir`` within its pass budget; a dict of what it took.

    ``gaps``: relative gap to ``optimum`` after each pass; ``passes_to_target``: the first
    pass at :data:`TARGET_GAP` or better (None if never); ``passes``: all passes it ran
    before stopping by itself or at its budget.
    """
    started = time.perf_counter()
    with Runner("inline") as runner:
        model = train(TrainConfig("logistic", [packed_dir], solver=solver, l2=L2,
                                  max_iter=PASS_BUDGETS[solver]), runner)
    gaps = relative_gap(objectives_after_passes(model, X, y), optimum)
    return {"solver": solver, "budget": PASS_BUDGETS[solver], "passes": model["n_passes"],
            "passes_to_target": first_pass_within(gaps), "final_gap": float(gaps[-1]),
            "stop_reason": model["stop_reason"], "gaps": gaps.tolist(),
            "seconds": time.perf_counter() - started}


def kmeans_run(packed_dir, X, sklearn_inertia):
    """mrlearn k-means (k-means|| init, one restart) on ``packed_dir``; a dict with its
    passes, initialization passes, exact inertia of its centers on ``X`` (n, d) and the
    ratio to ``sklearn_inertia``."""
    started = time.perf_counter()
    with Runner("inline") as runner:
        model = train(TrainConfig("kmeans", [packed_dir], k=KMEANS_K, seed=1), runner)
    exact = inertia(X, model["cluster_centers"])
    return {"passes": model["n_passes"],
            "init_passes": sum(entry["phase"] != "lloyd" for entry in model["history"]),
            "inertia": exact, "inertia_ratio": exact / sklearn_inertia,
            "stop_reason": model["stop_reason"], "seconds": time.perf_counter() - started}
