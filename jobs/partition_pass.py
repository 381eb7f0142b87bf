"""The partition pass: writes each input row to one of N part files.

Parameters: ``parts`` (N), ``by`` (``hash``, ``range`` or
``random``), ``key_col`` (None: the whole row), ``seed``, and for ``range`` the N - 1
``boundaries`` as ``[key, tie]`` pairs. Writes each good input line, as it was, to the part
it belongs to; ``tie`` (a row hash) orders rows with equal keys, so heavy keys still split
evenly and parts stay ordered by key.
"""
import numpy as np

from jobs.base import PartitionedOutputJob
from jobs.clustering import row_uniforms

HASH_STREAM, RANDOM_STREAM, TIE_STREAM, SAMPLE_STREAM = 0, 1, 2, 3


def range_ties(X, seed):
    return row_uniforms(X, seed, TIE_STREAM)


def part_of_rows(X, params):
    """Part index (n,) of each row of ``X`` (n, columns) under ``params``."""
    parts, key_col, seed = params["parts"], params["key_col"], params["seed"]
    by = params["by"]
    if by == "range":
        key, tie = X[:, key_col], range_ties(X, seed)
        part = np.zeros(len(X), dtype=np.int64)
        for bound_key, bound_tie in params["boundaries"]:
            part += (key > bound_key) | ((key == bound_key) & (tie > bound_tie))
        return part
    if by == "hash":
        u = row_uniforms(X if key_col is None else X[:, [key_col]], 0, HASH_STREAM)
    else:
        u = row_uniforms(X, seed, RANDOM_STREAM)
    return np.minimum((u * parts).astype(np.int64), parts - 1)


class MRPartitionPass(PartitionedOutputJob):

    keeps_lines = True

    def process_block(self, X, y, w):
        self.add_to_record({"n": X.shape[0]})
        part = part_of_rows(X, self.params)
        order = np.argsort(part, kind="stable")
        bounds = np.flatnonzero(np.diff(part[order])) + 1
        lines = self.good_lines
        return [(int(part[group[0]]), "\n".join(lines[i] for i in group))
                for group in np.split(order, bounds) if len(group)]


if __name__ == "__main__":
    MRPartitionPass.run()
