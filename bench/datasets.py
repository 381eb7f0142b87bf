"""The benchmarks' data, generated deterministically, and their common command line."""
import argparse

from sklearn.datasets import make_classification


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
