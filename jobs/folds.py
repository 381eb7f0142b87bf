"""Cross-validation folds of rows: fixed by each row's values, not by where it is read.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.clustering import row_uniforms

FOLD_STREAM = 1 << 40
"""The random stream of fold assignment (apart from sampling and k-means streams)."""


def fold_of(rows, seed, folds):
    """Fold (0 .. folds - 1) of each of ``rows`` (n, p): a hash of (seed, row values), so
    the same on every runner and for any split layout. The passes hash ``[x, y]`` (the
    features as the pass reads them, then the raw label)."""
    return np.minimum((row_uniforms(rows, seed, FOLD_STREAM) * folds).astype(np.int64),
                      folds - 1)
