"""Spark MLlib's logistic regression on a label-first CSV, in local[2]; prints JSON.

    python -m bench.spark_fit CSV L2
    python -m bench.spark_fit CSV '[L2, ...]' L1_RATIO

Run in its own process by :mod:`bench.end_to_end`, so the JVM starts and stops with it.
Prints one JSON line: ``session_seconds`` (SparkSession start), ``fit_seconds`` (read the
CSV and fit), ``iterations`` and ``theta`` ([coefficients, intercept]). The objective is
the benchmark's (mean log-loss + l2/2 ||w||^2): ``regParam = l2``, ``elasticNetParam = 0``,
``standardization=False``, intercept fitted.
"""
import json
import sys
import time

TOL = 1e-6
"""Spark's default tolerance; on this data it ends within about 1e-8 of the optimum
(measured: 8e-9 at 100k rows), well inside the benchmark's 1e-6."""
MAX_ITER = 1000


def fit(csv, l2, l1_ratio=0.0):
    """Start a local[2] session, read ``csv`` and fit; the dict printed by :func:`main`.

    pyspark is imported here, inside the timed session start, so that :mod:`bench.suite`
    can read :data:`TOL` where pyspark is not installed.
    """
    started = time.perf_counter()
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType, StructField, StructType

    spark = (SparkSession.builder.master("local[2]").appName("mrlearn-bench")
             .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with open(csv) as f:
        n_columns = len(f.readline().split(","))
    names = ["c%d" % j for j in range(n_columns)]
    schema = StructType([StructField(name, DoubleType(), False) for name in names])
    rows = VectorAssembler(inputCols=names[1:], outputCol="features").transform(
        spark.read.csv(csv, schema=schema))
    model = LogisticRegression(featuresCol="features", labelCol="c0", regParam=l2,
                               elasticNetParam=l1_ratio, standardization=False, fitIntercept=True,
                               tol=TOL, maxIter=MAX_ITER).fit(rows)
    fit_seconds = time.perf_counter() - started
    result = {"session_seconds": session_seconds, "fit_seconds": fit_seconds,
              "iterations": model.summary.totalIterations,
              "theta": model.coefficients.toArray().tolist() + [model.intercept]}
    spark.stop()
    return result


def main():
    """``CSV L2`` (one ridge fit), or ``CSV '[L1, L2, ...]' L1_RATIO``: elastic-net fits
    (``elasticNetParam``) at each penalty of a path, one session; prints their
    ``iterations`` as a list."""
    csv, l2 = sys.argv[1], json.loads(sys.argv[2])
    if isinstance(l2, list):
        print(json.dumps({"iterations": [fit(csv, lam, float(sys.argv[3]))["iterations"]
                                         for lam in l2]}))
    else:
        print(json.dumps(fit(csv, l2)))


if __name__ == "__main__":
    main()
