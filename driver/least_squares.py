"""Exact (ridge) least squares from the R factor of one tall-skinny QR pass.

The pass (:mod:`jobs.qr_pass`) delivers ``(n, shift, R)``: ``R`` (d + 2, d + 2) upper
triangular with ``R^T R = A^T A`` for ``A = [1, X - shift_x, y - shift_y]``. Everything
here works on ``R`` alone, so the solution has the conditioning of the (shifted) data
``X``, not that of ``X^T X``.
"""
import numpy as np

from jobs.tsqr import triangular_factor


def penalized_factor(R, n, l2):
    """``R`` re-factored with the ridge rows ``sqrt(n l2) [0, I_d, 0]`` appended: the factor
    of ``|y - b - X w|^2 + n l2 |w|^2`` (intercept unpenalized). ``R`` itself when l2 = 0."""
    if l2 <= 0:
        return R
    d = R.shape[0] - 2
    ridge = np.hstack([np.zeros((d, 1)), np.sqrt(n * l2) * np.eye(d), np.zeros((d, 1))])
    return triangular_factor(np.vstack([R, ridge]))


def solve_least_squares(rfactor, l2):
    """Minimize ``|y - X w - b|^2 / 2n + l2 |w|^2 / 2`` from the pass's ``(n, shift, R)``.

    With ``R`` the (penalized, :func:`penalized_factor`) factor split as
    ``[[r00, r0x, r0y], [0, Rxx, rxy], [0, 0, ryy]]``: ``Rxx w = rxy`` by back substitution,
    the intercept from row 0, and the objective ``ryy^2 / 2n`` (never negative).

    Rank-deficient designs (``l2 = 0``, e.g. a duplicated column): ``Rxx^T Rxx = Xc^T Xc``
    with ``Xc`` the data centered on its means, so the solution is the minimum-norm ``w``
    in the original coordinates among the least-squares solutions of the centered problem,
    ``pinv(Xc) yc``; the rank is decided on the column-scaled ``Rxx`` (singular values
    below ``d eps`` times the largest count as 0, lstsq's rule), so badly scaled columns
    keep their digits. ``b = mean_y - mean_x . w`` as always.

    Returns ``(theta (d + 1,) = [w, b], objective, rank of Rxx, gradient norm)``.
    """
    n, shift, R = rfactor
    R = penalized_factor(np.asarray(R, dtype=np.float64), n, l2)
    d = R.shape[0] - 2
    w, rank = _min_norm_solve(R[1:d + 1, 1:d + 1], R[1:d + 1, d + 1])
    b_shifted = (R[0, d + 1] - R[0, 1:d + 1] @ w) / R[0, 0]
    intercept = b_shifted + shift[d] - shift[:d] @ w
    objective = 0.5 * R[d + 1, d + 1] ** 2 / n
    Rxx = R[1:d + 1, 1:d + 1]
    gradient = Rxx.T @ (Rxx @ w - R[1:d + 1, d + 1]) / n
    return np.append(w, intercept), float(objective), rank, float(np.linalg.norm(gradient))


def back_substitute(U, b):
    """``U^-1 b`` for an upper triangular ``U`` (k, k) with a non-zero diagonal; ``b`` (k,)
    or (k, m)."""
    x = np.array(b, dtype=np.float64)
    for i in range(U.shape[0] - 1, -1, -1):
        x[i] = (x[i] - U[i, i + 1:] @ x[i + 1:]) / U[i, i]
    return x


def _min_norm_solve(U, b):
    """``(w, rank)``: the minimum-norm least-squares solution of ``U w = b`` for a square
    upper triangular ``U`` (k, k); back substitution when ``U`` has full numerical rank."""
    k = U.shape[0]
    scale = np.linalg.norm(U, axis=0)
    scale[scale == 0] = 1.0
    left, values, right_t = np.linalg.svd(U / scale)
    keep = values > (values[0] if k else 0.0) * k * np.finfo(float).eps
    if keep.all():
        return back_substitute(U, b), k
    w = right_t[keep].T @ ((left[:, keep].T @ b) / values[keep]) / scale
    null = right_t[~keep].T / scale[:, None]
    return w - null @ np.linalg.lstsq(null, w, rcond=None)[0], int(keep.sum())
