"""Wide sparse data: rcv1-like synthetic rows, written as libsvm, and the exact optimum.

The data (issue 18's bench): each row has ``nnz`` distinct features drawn from ``2^bits``
with Zipf(1.1) frequencies, values uniform in [0, 1), the row scaled to unit norm; labels
drawn from a logistic model whose true weights are non-zero (normal, times 8) on 5 % of
the features, intercept 0.
"""
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

ZIPF_EXPONENT = 1.1
TRUE_DENSITY = 0.05
TRUE_SCALE = 8.0


def rcv1_like(n_rows, bits, nnz=40, seed=0):
    """``(X, y)``: X a scipy CSR matrix (n_rows, 2^bits) with ``nnz`` entries a row, y in
    {0, 1} (n_rows,)."""
    rng = np.random.default_rng(seed)
    d = 2 ** bits
    p = 1.0 / np.arange(1, d + 1) ** ZIPF_EXPONENT
    cdf = np.cumsum(p / p.sum())
    feature_of_rank = rng.permutation(d)
    cols = np.empty((n_rows, nnz), dtype=np.int64)
    todo = np.arange(n_rows)
    while len(todo):  # draw twice the row's count, keep the first nnz distinct ones
        draws = np.searchsorted(cdf, rng.random((len(todo), 2 * nnz)), side="right")
        draws = np.minimum(draws, d - 1)
        ok = np.zeros(len(todo), dtype=bool)
        for i, row in enumerate(draws):
            _, first = np.unique(row, return_index=True)
            if len(first) >= nnz:
                cols[todo[i]] = row[np.sort(first)[:nnz]]
                ok[i] = True
        todo = todo[~ok]
    cols = feature_of_rank[cols]
    vals = rng.random((n_rows, nnz))
    vals /= np.linalg.norm(vals, axis=1, keepdims=True)
    X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n_rows * nnz + 1, nnz)),
                      shape=(n_rows, d))
    X.sort_indices()
    w_true = np.zeros(d)
    chosen = rng.choice(d, size=max(1, int(TRUE_DENSITY * d)), replace=False)
    w_true[chosen] = TRUE_SCALE * rng.standard_normal(len(chosen))
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.float64)
    return X, y


def write_libsvm(path, X, y):
    """Write CSR ``X`` and labels ``y`` as libsvm text (1-based indices), ``%.17g`` values."""
    X = sp.csr_matrix(X)
    with open(path, "w") as out:
        for i in range(X.shape[0]):
            lo, hi = X.indptr[i], X.indptr[i + 1]
            out.write("%d %s\n" % (y[i], " ".join(
                "%d:%.17g" % (j + 1, v) for j, v in zip(X.indices[lo:hi], X.data[lo:hi]))))
    return path


def logistic_objective(theta, X, y, l2):
    """``(F, G)`` of mrlearn's logistic objective: mean log-loss + l2/2 |w|^2 (intercept,
    the last entry of ``theta``, not penalized)."""
    n = X.shape[0]
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    loss = np.logaddexp(0.0, z) - y * z
    r = np.exp(-np.logaddexp(0.0, -z)) - y
    G = np.append(X.T @ r / n + l2 * w, r.sum() / n)
    return float(loss.sum() / n + 0.5 * l2 * w @ w), G


def logistic_optimum(X, y, l2):
    """The exact optimum ``(F*, theta*)`` (scipy L-BFGS-B to the rounding floor)."""
    fit = minimize(logistic_objective, np.zeros(X.shape[1] + 1), args=(X, y, l2), jac=True,
                   method="L-BFGS-B", options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-13,
                                               "maxcor": 30})
    return float(fit.fun), fit.x
