"""The benchmarks' data, generated deterministically, written once per run as CSV."""
import argparse
import os
import shutil

import numpy as np
from sklearn.datasets import make_blobs, make_classification

from bench.processes import mrlearn_command, run_timed


def rows_argument(description):
    """Parsed ``--rows`` (default 1,000,000) for a bench script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000)
    return parser.parse_args().rows


def logistic_data(rows):
    """``make_classification(rows, 20 features, 10 informative, 5 redundant, flip_y=0.05,
    random_state=7)`` with float labels: ``(X (rows, 20), y (rows,))``."""
    X, y = make_classification(n_samples=rows, n_features=20, n_informative=10,
                               n_redundant=5, flip_y=0.05, random_state=7)
    return X, y.astype(float)


def blobs_data(rows):
    """``make_blobs(rows, 10 features, 8 centers, cluster_std=1.5, random_state=7)``:
    ``X (rows, 10)``."""
    X, _ = make_blobs(n_samples=rows, n_features=10, centers=8, cluster_std=1.5, random_state=7)
    return X


def write_csv(path, *columns):
    """Write the columns side by side (each (n,) or (n, k)) as CSV at full float precision
    (``%.17g``: reading the file back gives the same float64 values). Returns ``path``."""
    np.savetxt(path, np.column_stack(columns), delimiter=",", fmt="%.17g")
    return path


class Workspace:
    """The data files of one bench run, under ``directory``, each made at most once.

    ``logistic(rows)`` and ``blobs(rows)`` generate the data and write it as CSV;
    ``packed(csv)`` runs ``mrlearn prepare -r local`` on a CSV file and remembers how long
    it took.
    """

    def __init__(self, directory):
        self.directory = directory
        self._generated = {}
        self._packed = {}

    def logistic(self, rows):
        """``(X (rows, 20), y (rows,), CSV path)``; the CSV has the label first."""
        X, y = self._generate(logistic_data, rows)
        return X, y, self._csv("logistic", rows, y, X)

    def blobs(self, rows):
        """``(X (rows, 10), CSV path)``; the CSV has no label column."""
        X = self._generate(blobs_data, rows)
        return X, self._csv("blobs", rows, X)

    def packed(self, csv):
        """``(directory written by mrlearn prepare from csv, seconds the command took)``."""
        if csv not in self._packed:
            output = csv[:-len(".csv")] + "-packed"
            shutil.rmtree(output, ignore_errors=True)  # timed afresh in every run
            seconds, _ = run_timed(mrlearn_command("prepare", "-r", "local", "--input", csv,
                                                   "--output", output))
            self._packed[csv] = output, seconds
        return self._packed[csv]

    def _generate(self, make, rows):
        """``make(rows)``, made once."""
        if (make, rows) not in self._generated:
            self._generated[make, rows] = make(rows)
        return self._generated[make, rows]

    def _csv(self, kind, rows, *columns):
        """Path of the ``kind`` CSV file of ``rows`` rows, written from ``columns`` unless
        an earlier run in the same directory wrote it (the data is deterministic)."""
        path = os.path.join(self.directory, "%s-%d.csv" % (kind, rows))
        if not os.path.exists(path):
            os.replace(write_csv(path + ".partial", *columns), path)
        return path
