"""``--standardize`` on libsvm input: every feature divided by its standard deviation,
never centered (sparse rows stay sparse), as Spark's ``LogisticRegression`` does.

The model is fitted on ``z = x / std`` (the ridge term on those coefficients), and
reported in original units: ``coef / std``, the intercept unchanged. ``std`` is the
unbiased sample standard deviation (ddof 1, Spark's choice) over every row, implicit
zeros included; a constant column (or a single row) gets 1. (CSV and packed input keep
``mrlearn prepare``'s statistics: centered, population variance.)

**No extra pass, where the first pass is at zero.** At ``theta = 0`` every margin is 0
whatever the scale, so the first pass of the descent solvers (newton, lbfgs, gd, owlqn,
proximal newton, giant) runs unscaled, with ``column_sums`` asked for (per-column sum and
sum of squares of the raw features, summed over splits like every record field), and
its record is turned into the scaled coordinates: with ``D = diag(std, 1)`` the loss is
the same, the gradient ``D^-1 g``, Newton's Hessian ``D^-1 H D^-1`` (GIANT's diagonal of
it), the per-label sums
of ``[x, 1]`` (the multiclass start) ``D^-1 s``. Solvers whose first pass is elsewhere
(sgd, mixing, the normal equations, the ``--lambdas`` / ``--cv`` path) get one
statistics pass before it. The scale is kept in the checkpoint, so ``--resume`` uses it.
"""
import numpy as np

from jobs.objective_pass import MRObjectivePass

CONSTANT_ROUNDING = 4 * np.finfo(float).eps
"""A column counts as constant (std 1) when its scatter ``sum x^2 - (sum x)^2 / n`` is at
most this times ``n sum x^2``: the bound of the rounding in the two sums, below which the
computed variance is rounding (0.1 in every row leaves a scatter of ~1e-17 n, not 0). At a
million rows, a std below 3e-5 of the column's root mean square counts as 0."""


def measured_by(job, params):
    """Whether the pass of ``job`` with ``params`` can measure the scale: an objective pass
    with the binary kernel at ``theta = 0`` alone (its record converts exactly)."""
    thetas = params.get("thetas")
    return (job is MRObjectivePass and thetas is not None and len(thetas) == 1
            and not np.any(thetas)
            and not any(key in params for key in ("multiclass", "fold_hessians", "line")))


def statistics_params(n_features):
    """What a pass must add to measure the scale: the column sums, at ``theta = 0``
    (order 0) when it is a pass of its own."""
    return {"column_sums": True, "thetas": [[0.0] * (n_features + 1)], "order": 0}


def column_scale(record):
    """The scale ``{"std": (d,) list}`` of a record's ``column_sums`` (2, d) over its
    ``n`` rows: the unbiased sample standard deviation, 1 for constant columns."""
    n = record["n"]
    total, squares = np.asarray(record["column_sums"], dtype=np.float64)
    scatter = np.maximum(squares - total * (total / n), 0.0)
    std = np.sqrt(scatter / max(n - 1, 1))
    std[scatter <= CONSTANT_ROUNDING * n * squares] = 1.0
    return {"std": std.tolist()}


def in_scaled_units(record, scale):
    """The record of a pass at ``theta = 0`` over unscaled rows, as the same pass over the
    rows divided by ``scale["std"]`` would give it (see the module docstring): ``grad``
    (m, p), ``hess`` (p, p) and ``label_sums`` (label -> (p,)) times ``D^-1``, GIANT's
    ``hess_diag`` (p,) times ``D^-2``; ``column_sums`` dropped."""
    inverse = 1.0 / np.append(scale["std"], 1.0)
    out = {k: v for k, v in record.items() if k != "column_sums"}
    if "grad" in record:
        out["grad"] = (np.asarray(record["grad"]) * inverse).tolist()
    if "hess" in record:
        out["hess"] = (np.asarray(record["hess"]) * np.outer(inverse, inverse)).tolist()
    if "hess_diag" in record:
        out["hess_diag"] = (np.asarray(record["hess_diag"]) * inverse * inverse).tolist()
    if "label_sums" in record:
        out["label_sums"] = {k: (np.asarray(v) * inverse).tolist()
                             for k, v in record["label_sums"].items()}
    return out
