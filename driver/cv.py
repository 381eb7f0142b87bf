"""The regularization path and k-fold cross-validation of least squares, from one pass.

The QR pass (:mod:`jobs.qr_pass`) can return one R factor per fold. Everything else is
arithmetic on those factors, with no further pass:

- the training factor of fold k's model merges the other folds' factors;
- its held-out error is ``|R_k v|^2 / n_k``, where ``v = [-w, -(b - shift_y + shift_x . w), 1]``
  applies the model to fold k's own factor, exactly as to its rows;
- every lambda of the path costs one solve per fold plus one on all the data.

The CV figures follow ``cv.glmnet``: ``cvm`` is the mean held-out MSE over folds, weighted by
fold size; ``cvsd`` is its standard error, ``sqrt(weighted mean of (e_k - cvm)^2 / (K - 1))``.
``lambda_min`` minimizes ``cvm``. ``lambda_1se`` is the largest lambda whose ``cvm`` is within
one ``cvsd`` of that minimum.
"""
import numpy as np

from driver.errors import MrlearnError
from driver.least_squares import elastic_net, ones_first, solve_least_squares
from jobs.tsqr import from_pair, merge_rfactor

PATH_RATIO = 1e-3
"""The default path runs from lambda_max down to this fraction of it (glmnet: 1e-4 when
rows outnumber features; 1e-3 keeps the smallest lambda's coordinate descent short)."""
PATH_LENGTH = 20


def fit(rfactor, l2, l1_ratio, total):
    """``(theta [w, b], objective)`` of ridge or elastic net from a factor."""
    if l1_ratio:
        theta, objective, _ = elastic_net(rfactor, l2, l1_ratio, total)
        return theta, objective
    theta, objective, _, _ = solve_least_squares(rfactor, l2, total)
    return theta, objective


def squared_error(rfactor, theta):
    """Sum of squared residuals (weighted) of ``theta`` on the rows of ``rfactor``."""
    _, shift, R = rfactor
    R = np.asarray(from_pair(R), dtype=np.float64)
    d = R.shape[0] - 2
    w, b = theta[:d], theta[d]
    v = np.concatenate([-w, [-(b - shift[d] + shift[:d] @ w), 1.0]])
    return float(np.sum((R @ v) ** 2))


def merge_folds(factors):
    """The factor of the rows of all ``factors`` (in their order)."""
    merged = factors[0]
    for factor in factors[1:]:
        merged = merge_rfactor(merged, factor)
    return merged


def lambda_max(rfactor, l1_ratio, total):
    """The smallest lambda at which the elastic net sets every coefficient to zero:
    ``max_j |Xc_j . yc| / (n l1_ratio)``, from the centered factor (glmnet's)."""
    centered = np.asarray(ones_first(from_pair(rfactor[2])), dtype=np.float64)
    d = centered.shape[0] - 2
    corr = centered[1:d + 1, 1:d + 1].T @ centered[1:d + 1, d + 1]
    return float(np.abs(corr).max() / (total * l1_ratio))


def default_lambdas(rfactor, l1_ratio, total):
    """PATH_LENGTH lambdas from :func:`lambda_max` down to PATH_RATIO of it, log-spaced."""
    top = lambda_max(rfactor, l1_ratio, total)
    return np.geomspace(top, top * PATH_RATIO, PATH_LENGTH).tolist()


def path_and_cv(folds, lambdas, l1_ratio, totals):
    """The path on all rows and, with several folds, its cross-validation.

    ``folds``: per fold its ``(n, shift, R)`` (one fold: no CV); ``totals``: per fold its
    row count or weight sum; ``lambdas``: decreasing, or None for :func:`default_lambdas`.
    Returns the model's ``path`` and ``cv`` fields (``cv`` None without folds) and the index
    of the lambda the model takes: ``lambda_min`` with CV, else the last (smallest).
    """
    full, total = merge_folds(folds), float(sum(totals))
    if lambdas is None:
        lambdas = default_lambdas(full, l1_ratio, total)
    fits = [fit(full, lam, l1_ratio, total) for lam in lambdas]
    path = {"lambdas": list(lambdas), "coef": [t[:-1].tolist() for t, _ in fits],
            "intercept": [float(t[-1]) for t, _ in fits],
            "objective": [f for _, f in fits],
            "n_nonzero": [int(np.count_nonzero(t[:-1])) for t, _ in fits]}
    if len(folds) < 2:
        return path, None, len(lambdas) - 1
    check_fold_sizes(totals)
    K = len(folds)
    errors = np.empty((K, len(lambdas)))  # held-out MSE of fold k's model at each lambda
    for k in range(K):
        training = merge_folds([f for j, f in enumerate(folds) if j != k])
        for i, lam in enumerate(lambdas):
            theta, _ = fit(training, lam, l1_ratio, total - totals[k])
            errors[k, i] = squared_error(folds[k], theta) / totals[k]
    cv, best = cv_curve(errors, totals, lambdas)
    cv.update(measure="mean squared error", mse=errors.tolist())
    return path, cv, best


def check_fold_sizes(totals):
    """Refuse folds without rows (or weight): too many folds for the input."""
    empty = [k for k, total in enumerate(totals) if not total > 0]
    if empty:
        raise MrlearnError("--cv %d: fold %d of the input has no rows (or weight); give "
                           "fewer folds" % (len(totals), empty[0]))


def cv_curve(errors, totals, lambdas):
    """``(cv, index of lambda_min)``: cv.glmnet's curve from the held-out errors (K, L) of
    K folds (rows or weight ``totals`` (K,)) at L decreasing ``lambdas``: ``folds``,
    ``fold_sizes``, ``cvm``, ``cvsd``, ``lambda_min`` and ``lambda_1se``."""
    K = len(totals)
    weights = np.asarray(totals, dtype=np.float64)
    cvm = weights @ errors / weights.sum()
    cvsd = np.sqrt(weights @ (errors - cvm) ** 2 / weights.sum() / (K - 1))
    best = int(np.argmin(cvm))
    within = np.flatnonzero(cvm <= cvm[best] + cvsd[best])
    one_se = int(within.min())  # lambdas decrease: the smallest index is the largest lambda
    return {"folds": K, "fold_sizes": list(totals), "cvm": cvm.tolist(), "cvsd": cvsd.tolist(),
            "lambda_min": lambdas[best], "lambda_1se": lambdas[one_se]}, best
