"""k-means restarts by default: inertia and passes against scikit-learn's best of 10.

    python -m bench.kmeans_restarts        # inline runner, about 15 seconds

Data: scikit-learn's iris (k = 3), wine standardized (k = 3) and digits (k = 10), seeds
0-4, default options (k-means||, ``--n-init`` default) against one restart
(``--n-init 1``). The reference inertia is the best of ``KMeans(n_init=10)`` over
``random_state`` 0-2. Prints a Markdown table: per data set and setting, the worst
inertia ratio to the reference and the passes per seed.
"""
import os
import sys
import tempfile

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402

SEEDS = range(5)


def datasets():
    """``(name, X, k)`` of the three data sets."""
    return [("iris", load_iris().data, 3),
            ("wine", StandardScaler().fit_transform(load_wine().data), 3),
            ("digits", load_digits().data, 10)]


def reference_inertia(X, k):
    """scikit-learn's best inertia of ``KMeans(k, n_init=10)`` over random_state 0-2."""
    return min(KMeans(k, n_init=10, random_state=s).fit(X).inertia_ for s in range(3))


def runs(path, k, **options):
    """``(inertia, passes)`` of mrlearn k-means on ``path`` for each seed of SEEDS."""
    out = []
    for seed in SEEDS:
        with Runner("inline") as runner:
            model = train(TrainConfig("kmeans", [path], label_col=None, k=k, seed=seed,
                                      **options), runner)
        out.append((model["inertia"], model["n_passes"]))
    return out


def main():
    directory = tempfile.mkdtemp()
    print("| data | restarts | worst inertia / sklearn best of 10 | passes, seeds 0-4 |")
    print("|---|---|---|---|")
    for name, X, k in datasets():
        path = os.path.join(directory, name + ".csv")
        np.savetxt(path, X, delimiter=",", fmt="%.17g")
        best = reference_inertia(X, k)
        for label, options in (("default", {}), ("1", {"n_init": 1})):
            result = runs(path, k, **options)
            print("| %s | %s | %.5f | %s |" % (name, label, max(i for i, _ in result) / best,
                                               " ".join(str(p) for _, p in result)))


if __name__ == "__main__":
    main()
