"""Exact (ridge) least squares from the R factor of one tall-skinny QR pass.

The pass (:mod:`jobs.qr_pass`) delivers ``(n, shift, R)``: ``R`` (d + 2, d + 2) upper
triangular with ``R^T R = A^T A`` for ``A = [X - shift_x, 1, y - shift_y]``. Everything
here works on ``R`` alone, so the solution has the conditioning of the (shifted) data
``X``, not that of ``X^T X``; and in ``R``'s precision (extended for up to
:data:`jobs.tsqr.EXTENDED_MAX_COLUMNS` columns), rounded to double at the end.
"""
import numpy as np

from jobs.tsqr import from_pair, triangular_factor


def penalized_factor(R, n, l2):
    """``R`` re-factored with the ridge rows ``sqrt(n l2) [I_d, 0, 0]`` appended: the factor
    of ``|y - X w - b|^2 + n l2 |w|^2`` (intercept unpenalized). ``R`` itself when l2 = 0."""
    if l2 <= 0:
        return R
    d = R.shape[0] - 2
    return triangular_factor(np.vstack([R, np.hstack([np.sqrt(n * l2) * np.eye(d),
                                                      np.zeros((d, 2))])]))


def ones_first(R):
    """The factor of the columns ``[1, X - shift_x, y - shift_y]``: its block ``[1:, 1:]``
    is the factor of the data centered on its means."""
    d = R.shape[0] - 2
    return triangular_factor(R[:, [d] + list(range(d)) + [d + 1]])


def solve_least_squares(rfactor, l2, total=None):
    """Minimize ``|y - X w - b|^2 / 2n + l2 |w|^2 / 2`` from the pass's ``(n, shift, R)``.

    Weighted rows (``R`` the factor of the rows scaled by ``sqrt(w_i)``): ``total`` is the
    weight sum ``W``, which replaces ``n`` (``sum_i w_i r_i^2 / 2W + l2 |w|^2 / 2``, and the
    ridge rows ``sqrt(W l2)``); the column of ones is then ``sqrt(w)``, and all below holds
    as it is (centering on it is centering on the weighted means). ``total`` None: ``n``.

    With ``R`` the (penalized, :func:`penalized_factor`) factor: back substitution in
    ``R[:d + 1, :d + 1] [w, b'] = R[:d + 1, d + 1]``, ``b = b' + shift_y - shift_x . w``, and the
    objective ``R[d + 1, d + 1]^2 / 2n`` (never negative).

    Rank-deficient designs (``l2 = 0``, e.g. a duplicated column): the minimum-norm ``w``
    in the original coordinates among the least-squares solutions of the centered problem,
    ``pinv(Xc) yc`` with ``Xc``, ``yc`` the data centered on their means (whose factor is
    that of :func:`ones_first` without its first row and column); the rank is decided on
    the column-scaled factor (singular values below ``d eps`` times the largest count as
    0, lstsq's rule), so badly scaled columns keep their digits. Then ``b = mean_y -
    mean_x . w`` as always.

    Returns ``(theta (d + 1,) = [w, b], objective, rank of Xc, gradient norm)``.
    """
    rows, shift, R = rfactor
    n = rows if total is None else total
    R = penalized_factor(from_pair(R), n, l2)
    d = R.shape[0] - 2
    centered = ones_first(R)
    Rxx, rxy = centered[1:d + 1, 1:d + 1], centered[1:d + 1, d + 1]
    rank = numerical_rank(Rxx)
    if rank == d:
        u = back_substitute(R[:d + 1, :d + 1], R[:d + 1, d + 1])
        w, b_shifted = u[:d], u[d]
    else:
        w = _min_norm_solve(Rxx, rxy)
        b_shifted = (centered[0, d + 1] - centered[0, 1:d + 1] @ w) / centered[0, 0]
    intercept = b_shifted + shift[d] - shift[:d] @ w
    gradient = Rxx.T @ (Rxx @ w - rxy) / n
    objective = 0.5 * R[d + 1, d + 1] ** 2 / n
    theta = np.append(w, intercept).astype(np.float64)
    return theta, float(objective), rank, float(np.linalg.norm(gradient.astype(np.float64)))


def back_substitute(U, b):
    """``U^-1 b`` for an upper triangular ``U`` (k, k) with a non-zero diagonal; ``b`` (k,)
    or (k, m). In the wider precision of the two."""
    x = np.array(b, dtype=np.result_type(U, b))
    for i in range(U.shape[0] - 1, -1, -1):
        x[i] = (x[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return x


def _scaled_svd(U):
    """``(left, singular values, right^T, scale)`` of ``U / scale``, ``scale`` the column
    norms of ``U`` (1 for zero columns), in double."""
    U = np.asarray(U, dtype=np.float64)
    scale = np.linalg.norm(U, axis=0)
    scale[scale == 0] = 1.0
    left, values, right_t = np.linalg.svd(U / scale)
    return left, values, right_t, scale


def _kept(values):
    return values > (values[0] if len(values) else 0.0) * len(values) * np.finfo(float).eps


def numerical_rank(U):
    """Rank of the column-scaled square ``U`` by lstsq's rule."""
    return int(_kept(_scaled_svd(U)[1]).sum())


def _min_norm_solve(U, b):
    """The minimum-norm (in the original coordinates) least-squares solution of ``U w = b``
    for a rank-deficient square ``U`` (k, k)."""
    left, values, right_t, scale = _scaled_svd(U)
    keep = _kept(values)
    b = np.asarray(b, dtype=np.float64)
    w = right_t[keep].T @ ((left[:, keep].T @ b) / values[keep]) / scale
    null = right_t[~keep].T / scale[:, None]
    return w - null @ np.linalg.lstsq(null, w, rcond=None)[0]


def elastic_net(rfactor, l2, l1_ratio, total=None, tol=1e-13, max_sweeps=100000):
    """Minimize ``|y - X w - b|^2 / 2n + l2 (l1_ratio |w|_1 + (1 - l1_ratio) / 2 |w|^2)``
    from the pass's ``(n, shift, R)``: scikit-learn's ``ElasticNet(alpha=l2, l1_ratio)``
    (``Lasso`` at l1_ratio = 1), intercept unpenalized. Weighted rows: ``total`` replaces
    ``n`` as in :func:`solve_least_squares`.

    Cyclic coordinate descent on the centered Gram matrix ``Rxx^T Rxx`` (glmnet's
    covariance updates): no data pass, so any number of penalties costs the one pass.
    Stops when a sweep moves no coefficient by more than ``tol`` times the largest.

    Returns ``(theta (d + 1,) = [w, b], objective, sweeps)``.
    """
    rows, shift, R = rfactor
    n = rows if total is None else total
    centered = np.asarray(ones_first(from_pair(R)), dtype=np.float64)
    d = centered.shape[0] - 2
    Rxx, rxy = centered[1:d + 1, 1:d + 1], centered[1:d + 1, d + 1]
    gram, corr = Rxx.T @ Rxx, Rxx.T @ rxy
    threshold, ridge = n * l2 * l1_ratio, n * l2 * (1.0 - l1_ratio)
    w = np.zeros(d)
    for sweep in range(1, max_sweeps + 1):
        largest_move = 0.0
        for j in range(d):
            if gram[j, j] + ridge == 0:
                continue
            rho = corr[j] - gram[j] @ w + gram[j, j] * w[j]
            new = np.sign(rho) * max(abs(rho) - threshold, 0.0) / (gram[j, j] + ridge)
            largest_move = max(largest_move, abs(new - w[j]))
            w[j] = new
        if largest_move <= tol * max(np.abs(w).max(), 1e-300):
            break
    yy = rxy @ rxy + centered[d + 1, d + 1] ** 2
    objective = (0.5 * (w @ gram @ w - 2 * corr @ w + yy) / n
                 + l2 * (l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w))
    means = shift + centered[0, 1:] / centered[0, 0]  # [x means, y mean]
    intercept = means[d] - means[:d] @ w
    return np.append(w, intercept), float(objective), sweep
