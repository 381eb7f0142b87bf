"""Feature scaling on task nodes: the column sums a scale is measured from, and a scale
applied to a block.

A scale (the ``scale`` pass parameter) is ``{"mean": (d,), "std": (d,)}``: features
centered and divided (CSV and packed rows, scaled by ``mrlearn prepare``'s statistics), or
``{"std": (d,)}`` alone: features divided, never centered (libsvm rows, so that sparse
rows stay sparse, as Spark's ``standardization`` does).

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.parsing import SparseRows


def column_sums(X):
    """``[sum, sum of squares]`` (2, d) of each column of ``X`` (ndarray (n, d) or
    :class:`SparseRows`, whose implicit zeros add nothing), additive over blocks; the
    count is the rows' (every row has every column).

    Sparse entries of a row that share a column (hashed features) add up before they are
    squared, as in the dense block; the sums take two bincounts, the block is never
    densified.
    """
    if isinstance(X, np.ndarray):
        return np.vstack([X.sum(axis=0), (X * X).sum(axis=0)])
    col, value = _distinct_cells(X)
    d = X.shape[1]
    return np.vstack([np.bincount(col, weights=value, minlength=d),
                      np.bincount(col, weights=value * value, minlength=d)]).astype(np.float64)


def _distinct_cells(X):
    """``(col, val)`` of :class:`SparseRows` ``X`` with the entries of one (row, column)
    added up: as they are when every cell is distinct (rows in order, columns increasing
    within a row, as libsvm lines are written), else by a sort."""
    cells = X.row * X.shape[1] + X.col
    if np.all(cells[1:] > cells[:-1]):
        return X.col, X.val
    cells, index = np.unique(cells, return_inverse=True)
    return cells % X.shape[1], np.bincount(index.ravel(), weights=X.val, minlength=len(cells))


def scaled(X, scale):
    """``X`` (ndarray (n, d) or :class:`SparseRows`) in the units of ``scale`` (numpy
    arrays): ``(X - mean) / std``, or ``X / std`` when the scale has no ``mean``
    (a sparse block's entries are divided by their column's std: it stays sparse)."""
    std = scale["std"]
    if isinstance(X, SparseRows):
        return SparseRows(X.row, X.col, X.val / std[X.col], X.shape)
    if "mean" in scale:
        X = X - scale["mean"]
    return X / std
