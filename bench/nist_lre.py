"""Correct digits (LRE) of the one-pass least squares against numpy's lstsq, NIST StRD.

    python -m bench.nist_lre        # inline runner, about 10 seconds

Problems: Longley (statsmodels' copy), Norris (typed in from NIST) and Wampler1-5
(generated from their published definitions), each split over 1 and 3 mappers with
blocks of 8192 and of 4 lines. Prints, per problem, the fewest correct digits over the
coefficients and the layouts for mrlearn, and lstsq's on the whole data; and the fewest
per-coefficient margin (mrlearn minus lstsq).
"""
import os
import sys
import tempfile
from fractions import Fraction

import numpy as np
import statsmodels.api as sm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import jobs.base  # noqa: E402
from driver.passes import Runner  # noqa: E402
from driver.train import TrainConfig, train  # noqa: E402

# NIST StRD certified values (https://www.itl.nist.gov/div898/strd/lls/data/Longley.shtml),
# as [x1 .. x6, intercept]; also in statsmodels' regression/tests/results.
LONGLEY = [15.0618722713733, -0.358191792925910E-01, -2.02022980381683, -1.03322686717359,
           -0.511041056535807E-01, 1829.15146461355, -3482258.63459582]
# NIST Norris (https://www.itl.nist.gov/div898/strd/lls/data/Norris.shtml): 36 (x, y) pairs,
# certified [slope, intercept], their standard errors and R^2.
NORRIS_X = [0.2, 337.4, 118.2, 884.6, 10.1, 226.5, 666.3, 996.3, 448.6, 777.0, 558.2, 0.4,
            0.6, 775.5, 666.9, 338.0, 447.5, 11.6, 556.0, 228.1, 995.8, 887.6, 120.2, 0.3,
            0.3, 556.8, 339.1, 887.2, 999.0, 779.0, 11.1, 118.3, 229.2, 669.1, 448.9, 0.5]
NORRIS_Y = [0.1, 338.8, 118.1, 888.0, 9.2, 228.1, 668.5, 998.5, 449.1, 778.9, 559.2, 0.3,
            0.1, 778.1, 668.8, 339.3, 448.9, 10.8, 557.7, 228.3, 998.0, 888.8, 119.6, 0.3,
            0.6, 557.6, 339.3, 888.0, 998.5, 778.9, 10.2, 117.6, 228.9, 668.4, 449.2, 0.2]
NORRIS = [1.00211681802045, -0.262323073774029]
NORRIS_SE = [0.429796848199937E-03, 0.232818234301152]
# Wampler3-5 = Wampler1 + c * this sequence (c = 1, 100, 10^4): orthogonal to 1, x .. x^5,
# so the certified coefficients stay 1; residual SD of Wampler3 = 2360.14502379268.
WAMPLER_NOISE = [759, -2048, 2048, -2048, 2523, -2048, 2048, -2048, 1838, -2048, 2048,
                 -2048, 1838, -2048, 2048, -2048, 2523, -2048, 2048, -2048, 759]


def wampler(k):
    """NIST Wampler``k`` (x = 0..20, y degree-5 polynomial): (X (21, 5), y, certified)."""
    x = np.arange(21)
    X = np.column_stack([x ** p for p in range(1, 6)]).astype(float)
    if k == 2:  # y = 1 + 0.1 x + .. + 1e-5 x^5: exact decimals, rounded once
        y = np.array([float(sum(Fraction(int(v) ** p, 10 ** p) for p in range(6))) for v in x])
        return X, y, np.array([0.1, 0.01, 0.001, 1e-4, 1e-5, 1.0])
    y = 1.0 + X.sum(axis=1) + {1: 0, 3: 1, 4: 100, 5: 10000}[k] * np.array(WAMPLER_NOISE, float)
    return X, y, np.ones(6)


def lre(b, certified):
    """Log relative error: the number of correct significant digits (capped at 16)."""
    err = np.abs(np.asarray(b) - certified) / np.abs(certified)
    return np.minimum(-np.log10(np.maximum(err, 1e-300)), 16.0)


def lstsq_theta(X, y):
    return np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]


def problems():
    """``(name, X, y, certified [w, b])`` of every problem."""
    longley = sm.datasets.longley.load_pandas()
    yield "Longley", longley.exog.values, longley.endog.values, np.array(LONGLEY)
    yield "Norris", np.array(NORRIS_X)[:, None], np.array(NORRIS_Y), np.array(NORRIS)
    for k in range(1, 6):
        X, y, certified = wampler(k)
        yield "Wampler%d" % k, X, y, certified


def one_pass_theta(path, mappers, block_lines):
    """mrlearn's ``[w, b]`` for the CSV at ``path`` (label first)."""
    saved, jobs.base.BLOCK_LINES = jobs.base.BLOCK_LINES, block_lines
    try:
        with Runner("inline", mappers=mappers) as runner:
            model = train(TrainConfig("linear", [path]), runner)
    finally:
        jobs.base.BLOCK_LINES = saved
    return np.append(model["coef"], model["intercept"])


def main():
    directory = tempfile.mkdtemp()
    print("| problem | mrlearn, fewest digits | lstsq | fewest margin per coefficient |")
    print("|---|---:|---:|---:|")
    for name, X, y, certified in problems():
        path = os.path.join(directory, name + ".csv")
        np.savetxt(path, np.column_stack([y, X]), delimiter=",", fmt="%.17g")
        reference = lre(lstsq_theta(X, y), certified)
        ours = [lre(one_pass_theta(path, m, b), certified) for m in (1, 3) for b in (8192, 4)]
        print("| %s | %.2f | %.2f | %+.2f |" % (name, min(o.min() for o in ours), reference.min(),
                                               min((o - reference).min() for o in ours)))


if __name__ == "__main__":
    main()
