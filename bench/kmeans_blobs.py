"""k-means on make_blobs: passes and inertia against scikit-learn, per initialization.

    python bench/kmeans_blobs.py [--rows 1000000] [--runner local] [--n-init 1 5]

Data: :func:`bench.datasets.blobs_data` (``make_blobs(n_samples=ROWS, n_features=10,
centers=8, cluster_std=1.5, random_state=7)``) written as CSV. For each ``--init`` and
``--n-init`` it trains ``--k 8`` with mrlearn and reports total passes, initialization
passes, wall time and the inertia ratio to scikit-learn's ``KMeans(8, n_init=10)`` fitted
in the same run (both inertias computed on the same rows). ``python -m bench.suite``
measures the default initialization alongside the other benchmarks.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.datasets import blobs_data, write_csv  # noqa: E402
from bench.reference import KMEANS_K, inertia, kmeans_optimum  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runner", default="local")
    parser.add_argument("--inits", nargs="+", default=["k-means||", "k-means++", "random"])
    parser.add_argument("--n-init", nargs="+", type=int, default=[1, 5])
    args = parser.parse_args()

    X = blobs_data(args.rows)
    reference = kmeans_optimum(X)
    print("scikit-learn KMeans(8, n_init=10): inertia %.6f, %d iterations, %.1f s (in memory, "
          "no read)" % (reference["inertia"], reference["iterations"], reference["seconds"]))
    print("| init | n_init | passes | init passes | inertia / scikit-learn | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(os.path.join(tmp, "blobs.csv"), X)
        for init in args.inits:
            for n_init in args.n_init:
                started = time.time()
                with Runner(args.runner) as runner:
                    model = train(TrainConfig("kmeans", [path], k=KMEANS_K, init=init,
                                              n_init=n_init, seed=1), runner)
                init_passes = sum(h["phase"] != "lloyd" for h in model["history"])
                print("| %s | %d | %d | %d | %.6f | %.0f |" % (
                    init, n_init, model["n_passes"], init_passes,
                    inertia(X, model["cluster_centers"]) / reference["inertia"],
                    time.time() - started), flush=True)


if __name__ == "__main__":
    main()
