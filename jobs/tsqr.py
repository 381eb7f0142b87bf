"""Tall-skinny QR (Constantine & Gleich 2011): the R factor of a block of rows, and the
merge of two R factors, for exact least squares in one pass.

A block of rows ``Z = [x_1 .. x_d, y]`` (n, p) is summarized as ``(n, shift, R)``: ``shift``
(p,) is a per-column shift (the block's column means), ``R`` (p + 1, p + 1) is the upper
triangular factor, with non-negative diagonal, of ``A = [1, Z - shift]``: ``A^T A = R^T R``.
The shift changes nothing in exact arithmetic (the column of ones absorbs it) but keeps
``A`` as well conditioned as the centered data: QR never sees the columns' offsets.

Only row 0 of ``R`` depends on the shift (``R[:, 0] = [sqrt(n), 0 ..]``): moving to another
shift ``s`` adds ``sqrt(n) (shift - s)`` to ``R[0, 1:]``, exactly the column operation
``Z - s = (Z - shift) + (shift - s) 1``. :func:`merge_rfactor` moves both factors to the
merged column means and re-factors the two stacked R's: the result is the R factor of the
concatenated rows, as well conditioned as theirs. The merge is deterministic for a given
order of its arguments.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np


def rfactor(Z):
    """``(n, shift (p,), R (p + 1, p + 1))`` of the rows ``Z`` (n, p); see the module doc."""
    n, p = Z.shape
    if n == 0:
        return 0, np.zeros(p), np.zeros((p + 1, p + 1))
    shift = Z.mean(axis=0)
    return n, shift, triangular_factor(np.column_stack([np.ones(n), Z - shift]))


def merge_rfactor(a, b):
    """The ``(n, shift, R)`` of the rows of ``a`` followed by the rows of ``b``."""
    na, sa, Ra = a
    nb, sb, Rb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    shift = sa + (sb - sa) * (nb / n)
    return n, shift, triangular_factor(np.vstack([_shifted(Ra, sa, shift), _shifted(Rb, sb, shift)]))


def _shifted(R, old, new):
    """``R`` of ``[1, Z - old]`` turned into the R of ``[1, Z - new]``."""
    R = np.array(R, dtype=np.float64)
    R[0, 1:] += R[0, 0] * (old - new)
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
