"""End to end: train the logistic benchmark from its CSV file with each contender.

Contenders: ``mrlearn train -r local`` on the CSV; the same on the packed copy, its
``mrlearn prepare`` pass included; scikit-learn (pandas ``read_csv`` + ``fit``); Spark
MLlib in local[2] (session start + read + fit, :mod:`bench.spark_fit`). The mrlearn and
Spark commands run as subprocesses, scikit-learn in this process. Every contender's
final objective is computed here with numpy on the same rows.
"""
import importlib.util
import json
import shutil
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from bench.processes import mrlearn_command, run_timed
from bench.reference import L2, logistic_objective, relative_gap, sklearn_theta
from driver.model import load_model, model_theta

SPARK_RAN = "Spark: ran"
SPARK_NOT_INSTALLED = "Spark: not installed, skipped"
SPARK_NOT_ASKED = "Spark: skipped (--no-spark)"


def spark_availability(asked):
    """:data:`SPARK_RAN` when the Spark contender can run, else the sentence saying why it
    is skipped."""
    if not asked:
        return SPARK_NOT_ASKED
    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        return SPARK_NOT_INSTALLED
    return SPARK_RAN


def contender(name, seconds, theta, iterations, X, y, optimum, **parts):
    """One row of the end-to-end table: wall ``seconds``, final objective of ``theta``
    (d + 1,) on ``X`` (n, d), ``y`` (n,), its relative gap to ``optimum``, and the
    iterations (passes) it took; ``parts`` are named sub-timings in seconds."""
    objective = logistic_objective(X, y, theta)
    return {"contender": name, "rows": len(y), "seconds": seconds, "objective": objective,
            "gap": float(relative_gap(objective, optimum)), "iterations": iterations,
            "parts": parts}


def mrlearn_train(path, model_path):
    """Run ``mrlearn train -r local`` (logistic, Newton) on ``path``; ``(seconds, model)``."""
    seconds, _ = run_timed(mrlearn_command("train", "-r", "local", "--algo", "logistic",
                                           "--l2", L2, "--input", path, "--model", model_path,
                                           "-q"))
    return seconds, load_model(model_path)


def mrlearn_csv(csv, X, y, optimum):
    """mrlearn on the CSV file itself."""
    seconds, model = mrlearn_train(csv, csv + ".model.json")
    return contender("mrlearn, CSV", seconds, model_theta(model), model["n_passes"], X, y,
                     optimum)


def mrlearn_packed(workspace, csv, X, y, optimum):
    """mrlearn on the packed copy of the CSV, the prepare pass included in its time."""
    packed, prepare_seconds = workspace.packed(csv)
    train_seconds, model = mrlearn_train(packed, packed + ".model.json")
    return contender("mrlearn, packed", prepare_seconds + train_seconds, model_theta(model),
                     model["n_passes"], X, y, optimum, prepare=prepare_seconds,
                     train=train_seconds)


def read_labelled_csv(csv):
    """``(X (n, d), y (n,))`` of a label-first CSV file, read with pandas."""
    values = pd.read_csv(csv, header=None, dtype=np.float64).to_numpy()
    return values[:, 1:], values[:, 0]


def sklearn_end_to_end(csv, X, y, optimum):
    """scikit-learn as a user runs it: read the CSV with pandas, fit with its defaults
    (lbfgs, tol 1e-4) and ``C = 1 / (l2 n)``."""
    started = time.perf_counter()
    features, labels = read_labelled_csv(csv)
    read_seconds = time.perf_counter() - started
    classifier = LogisticRegression(C=1 / (L2 * len(labels)), max_iter=10000).fit(features,
                                                                               labels)
    seconds = time.perf_counter() - started
    return contender("scikit-learn", seconds, sklearn_theta(classifier),
                     int(classifier.n_iter_[0]), X, y, optimum, read=read_seconds,
                     fit=seconds - read_seconds)


def spark_end_to_end(csv, X, y, optimum):
    """Spark MLlib in its own process (:mod:`bench.spark_fit`): JVM and session start,
    read, fit."""
    seconds, output = run_timed([sys.executable, "-m", "bench.spark_fit", csv, str(L2)])
    fitted = json.loads(output.strip().splitlines()[-1])
    return contender("Spark MLlib", seconds, fitted["theta"], fitted["iterations"], X, y,
                     optimum, session=fitted["session_seconds"],
                     read_and_fit=fitted["fit_seconds"])


def end_to_end(workspace, rows, optimum, spark):
    """Every contender on the ``rows``-row logistic data (Spark when ``spark``); a list
    of :func:`contender` rows."""
    X, y, csv = workspace.logistic(rows)
    results = [mrlearn_csv(csv, X, y, optimum), mrlearn_packed(workspace, csv, X, y, optimum),
               sklearn_end_to_end(csv, X, y, optimum)]
    if spark:
        results.append(spark_end_to_end(csv, X, y, optimum))
    return results
