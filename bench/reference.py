"""Exact objectives computed with numpy, and scikit-learn's optima to measure gaps against.

The logistic objective is mrlearn's (and scikit-learn's with ``C = 1 / (l2 n)``, and
Spark MLlib's with ``regParam = l2``, ``standardization=False``): mean log-loss plus
``l2 / 2 * ||w||^2``, the intercept not penalized. Parameters are ``theta = [w, b]``
(d + 1,).
"""
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression

from jobs.clustering import nearest
from jobs.kernels import encode_labels, loss_sums

L2 = 1e-4
"""The ridge penalty of every logistic benchmark."""
TARGET_GAP = 1e-6
"""The relative objective gap a run must reach to count as converged."""
KMEANS_K = 8
SKLEARN_KMEANS_RESTARTS = 10


def objective_and_gradient(loss, X, y, theta, l2):
    """``(F, G (d + 1,))``: mean ``loss`` + l2/2 ||w||^2 and its gradient at ``theta``,
    over all rows of ``X`` (n, d) with raw labels ``y`` (n,)."""
    theta = np.asarray(theta, dtype=np.float64)
    sums = loss_sums(loss, X, encode_labels(y, loss), theta[None, :], 1)
    w = theta[:-1]
    return (sums["loss"][0] / len(y) + 0.5 * l2 * w @ w,
            sums["grad"][0] / len(y) + l2 * np.append(w, 0.0))


def logistic_objective(X, y, theta, l2=L2):
    """The logistic objective at ``theta`` (a float)."""
    return float(objective_and_gradient("logistic", X, y, theta, l2)[0])


def relative_gap(objective, optimum):
    """``(objective - optimum) / |optimum|``, elementwise for an array of objectives."""
    return (np.asarray(objective) - optimum) / abs(optimum)


def sklearn_theta(classifier):
    """``[coef, intercept]`` (d + 1,) of a fitted binary ``LogisticRegression``."""
    return np.append(classifier.coef_[0], classifier.intercept_)


def logistic_optimum(X, y, l2=L2):
    """scikit-learn's optimum of the logistic objective, to a tolerance of 1e-10.

    Returns a dict: ``objective``, ``theta`` (list, d + 1), ``iterations`` and ``seconds``
    (the fit alone, data in memory).
    """
    started = time.perf_counter()
    classifier = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=10000).fit(X, y)
    theta = sklearn_theta(classifier)
    return {"objective": logistic_objective(X, y, theta, l2), "theta": theta.tolist(),
            "iterations": int(classifier.n_iter_[0]),
            "seconds": time.perf_counter() - started}


def inertia(X, centers):
    """Sum of squared distances of the rows of ``X`` (n, d) to their nearest center
    (``centers`` (k, d))."""
    return float(nearest(X, np.asarray(centers, dtype=np.float64))[1].sum())


def kmeans_optimum(X):
    """scikit-learn's ``KMeans(8)`` with 10 restarts on ``X`` (n, d): a dict with
    ``inertia`` (of its centers, by :func:`inertia`), ``iterations`` (of the best restart)
    and ``seconds``."""
    started = time.perf_counter()
    fitted = KMeans(KMEANS_K, n_init=SKLEARN_KMEANS_RESTARTS, random_state=0).fit(X)
    return {"inertia": inertia(X, fitted.cluster_centers_), "iterations": int(fitted.n_iter_),
            "seconds": time.perf_counter() - started}
