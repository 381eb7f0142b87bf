"""Tall-skinny QR (Constantine & Gleich 2011): the R factor of a block of rows, and the
merge of two R factors, for exact least squares in one pass.

A block of rows ``Z = [x_1 .. x_d, y]`` (n, d + 1) is summarized as ``(n, shift, R)``:
``shift`` (d + 1,) is the block's first row, ``R`` (d + 2, d + 2) the upper triangular
factor, with non-negative diagonal, of ``A = [X - shift_x, 1, y - shift_y]`` (the column of
ones between the features and the label): ``A^T A = R^T R``.

Why this shift and this order: the column of ones absorbs any shift in exact arithmetic;
in floating point, a shift by a row of the data removes the columns' offsets (QR sees the
conditioning of the data's spread, as with centering: NIST Longley), and with the ones
after the features the intercept comes out of back substitution first, relative to a data
row, without the cancellation ``b = mean_y - mean_x . w`` (which costs the intercept
``log10(|mean_y| / |b|)`` digits: NIST Wampler1).

Moving to another shift ``s`` is the column operation ``Z - s = (Z - shift) + (shift - s) 1``:
``R`` times a unit triangular matrix, which adds ``R[:, d] (shift_j - s_j)`` to column j.
:func:`merge_rfactor` moves the second factor to the first one's shift (so the merged shift
is the first row of the first block) and re-factors the two stacked R's: the result is the
R factor of the concatenated rows. It is deterministic for a given order of its arguments.

Precision: for up to :data:`EXTENDED_MAX_COLUMNS` columns the factors are computed in
numpy's extended precision (``longdouble``: 64-bit significands on x86, 113 on aarch64;
Householder QR vectorized over rows, about 1 s per million rows at 12 columns) and travel
as double-double pairs ``(2, q, q)`` (``hi + lo``, exact to the extended precision), so the
one-pass solution is that of the data as parsed to about 1e-19 relative times the
condition number: NIST's polynomial problems keep 2-6 digits more than ``numpy.linalg.lstsq``
(which computes in double). Wider blocks use LAPACK's QR in double (lstsq's accuracy):
extended arithmetic has no BLAS and would cost minutes per million rows there.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np


EXTENDED = np.longdouble
EXTENDED_MAX_COLUMNS = 64


def rfactor(Z, weights=None):
    """``(n, shift (p,), R (2, p + 1, p + 1))`` of the rows ``Z`` (n, p); see the module doc.

    ``R`` is the double-double pair of the factor (:func:`to_pair`). With ``weights`` (n,)
    >= 0, row i of ``A`` is scaled by ``sqrt(w_i)`` (weighted least squares); the column of
    ones becomes ``sqrt(w)``, and moving to another shift is still adding multiples of that
    column, so :func:`merge_rfactor` applies unchanged.
    """
    n, p = Z.shape
    if n == 0:
        return 0, np.zeros(p), np.zeros((2, p + 1, p + 1))
    shift = Z[0].copy()
    A = np.empty((n, p + 1), dtype=_precision(p + 1), order="F")  # LAPACK's layout
    A[:, :p - 1] = Z[:, :-1]
    A[:, :p - 1] -= shift[:-1]
    A[:, p - 1] = 1.0
    A[:, p] = Z[:, -1]
    A[:, p] -= shift[-1]
    if weights is not None:
        A *= np.sqrt(np.asarray(weights, dtype=A.dtype))[:, None]
    return n, shift, to_pair(triangular_factor(A))


def merge_rfactor(a, b):
    """The ``(n, shift, R)`` of the rows of ``a`` followed by the rows of ``b``."""
    na, sa, Ra = a
    nb, sb, Rb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    stacked = np.vstack([from_pair(Ra), shifted(from_pair(Rb), sb, sa)])
    return na + nb, sa, to_pair(triangular_factor(stacked))


def to_pair(R):
    """``R`` as float64 ``(2, ...)``: ``hi`` = R rounded to double, ``lo`` = the rest."""
    hi = np.asarray(R, dtype=np.float64)
    return np.stack([hi, np.asarray(R - hi, dtype=np.float64)])


def from_pair(pair):
    """The factor a :func:`to_pair` pair holds, in the precision its width calls for (a
    plain ``(q, q)`` factor, as older checkpoints hold, is taken as it is)."""
    pair = np.asarray(pair, dtype=np.float64)
    if pair.ndim == 2:
        return pair
    q = pair.shape[-1]
    return pair[0].astype(_precision(q)) + pair[1]


def _precision(q):
    return EXTENDED if q <= EXTENDED_MAX_COLUMNS else np.float64


def shifted(R, old, new):
    """``R`` of ``[X - old_x, 1, y - old_y]`` times the unit triangular matrix that makes it
    a factor (not triangular) of ``[X - new_x, 1, y - new_y]`` (in ``R``'s precision)."""
    R = np.array(R)
    d = R.shape[0] - 2
    delta = np.asarray(old, dtype=R.dtype) - np.asarray(new, dtype=R.dtype)
    R[:, :d] += np.outer(R[:, d], delta[:d])
    R[:, d + 1] += R[:, d] * delta[d]
    return R


def triangular_factor(A):
    """Upper triangular R (q, q) with ``R^T R = A^T A`` and ``R_ii >= 0``, for ``A`` (m, q),
    in ``A``'s precision (extended: :func:`householder_r`); zero rows below when ``m < q``."""
    q = A.shape[1]
    R = householder_r(A) if A.dtype == EXTENDED else np.linalg.qr(A, mode="r")
    if R.shape[0] < q:
        R = np.vstack([R, np.zeros((q - R.shape[0], q), dtype=R.dtype)])
    signs = np.where(np.diag(R) < 0, -1.0, 1.0).astype(R.dtype)
    return R * signs[:, None]


def householder_r(A):
    """The R (min(m, q), q) of Householder QR of ``A`` (m, q), in ``A``'s precision (numpy's
    linalg has no extended precision): one reflection per column, vectorized over rows."""
    A = np.array(A)
    m, q = A.shape
    for k in range(min(m, q)):
        x = A[k:, k]
        norm = np.sqrt(x @ x)
        if norm == 0:
            continue
        v = x.copy()
        v[0] += norm if x[0] >= 0 else -norm
        A[k:, k:] -= np.outer(v, (2 / (v @ v)) * (v @ A[k:, k:]))
    return np.triu(A[:min(m, q)])
