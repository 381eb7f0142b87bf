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

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np


def rfactor(Z, weights=None):
    """``(n, shift (p,), R (p + 1, p + 1))`` of the rows ``Z`` (n, p); see the module doc.

    With ``weights`` (n,) >= 0, row i of ``A`` is scaled by ``sqrt(w_i)`` (weighted least
    squares); the column of ones becomes ``sqrt(w)``, and moving to another shift is still
    adding multiples of that column, so :func:`merge_rfactor` applies unchanged.
    """
    n, p = Z.shape
    if n == 0:
        return 0, np.zeros(p), np.zeros((p + 1, p + 1))
    shift = Z[0].copy()
    A = np.empty((n, p + 1), order="F")  # LAPACK's layout: no copy inside qr
    A[:, :p - 1] = Z[:, :-1] - shift[:-1]
    A[:, p - 1] = 1.0
    A[:, p] = Z[:, -1] - shift[-1]
    if weights is not None:
        A *= np.sqrt(weights)[:, None]
    return n, shift, triangular_factor(A)


def merge_rfactor(a, b):
    """The ``(n, shift, R)`` of the rows of ``a`` followed by the rows of ``b``."""
    na, sa, Ra = a
    nb, sb, Rb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    return na + nb, sa, triangular_factor(np.vstack([Ra, shifted(Rb, sb, sa)]))


def shifted(R, old, new):
    """``R`` of ``[X - old_x, 1, y - old_y]`` times the unit triangular matrix that makes it
    a factor (not triangular) of ``[X - new_x, 1, y - new_y]``."""
    R = np.array(R, dtype=np.float64)
    d = R.shape[0] - 2
    delta = np.asarray(old, dtype=np.float64) - new
    R[:, :d] += np.outer(R[:, d], delta[:d])
    R[:, d + 1] += R[:, d] * delta[d]
    return R


def triangular_factor(A):
    """Upper triangular R (q, q) with ``R^T R = A^T A`` and ``R_ii >= 0``, for ``A`` (m, q);
    zero rows below when ``m < q``."""
    q = A.shape[1]
    R = np.linalg.qr(A, mode="r")
    if R.shape[0] < q:
        R = np.vstack([R, np.zeros((q - R.shape[0], q))])
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return R * signs[:, None]
