"""Pure-numpy kernels for stochastic gradient descent: sampling, exact sums, local SGD.

Mini-batch SGD must give the same model for any number of mappers, so its sums may not
depend on how rows are grouped: :func:`exact_sums` adds per-row values on a fixed-point
grid (2^-32) as integers, which is exact and associative, and margins are computed row by
row (:func:`row_margins`), never by a BLAS call whose rounding depends on the block.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.clustering import row_uniforms
from jobs.kernels import _loss_derivatives, weighted_rows

FIXED_POINT_BITS = 32
SCHEDULES = ("constant", "invscaling", "optimal", "adagrad")


def row_margins(X, theta):
    """``X w + b`` (n,) with each row's dot product in one fixed order."""
    d = X.shape[1]
    return (X * theta[:d]).sum(axis=1) + theta[d]


def exact_sums(values):
    """Column sums of ``values`` (n, p) on a 2^-32 grid, as Python ints (exact, associative).

    Non-finite values (a diverged model) give NaN sums."""
    if not len(values):
        return [0] * values.shape[1]
    fixed = np.rint(np.ldexp(values, FIXED_POINT_BITS))
    if not np.isfinite(fixed).all():  # a diverged model: NaN reaches the driver, which stops
        return [float("nan")] * values.shape[1]
    if np.abs(fixed).max() * len(fixed) < 2.0 ** 62:  # int64 cannot overflow
        return [int(v) for v in fixed.astype(np.int64).sum(axis=0, dtype=np.int64)]
    return [sum(int(v) for v in column) for column in fixed.T]


def from_exact(sums):
    """Floats (p,) from :func:`exact_sums` integers."""
    return np.array([np.ldexp(float(s), -FIXED_POINT_BITS) for s in sums])


def sample_mask(X, y, seed, pass_index, fraction):
    """Bernoulli(``fraction``) choice of rows (n,) by a hash of (seed, pass, row values)."""
    rows = X if y is None else np.column_stack([y, X])
    return row_uniforms(rows, seed, pass_index) < fraction


def sgd_pass_sums(loss, X, y, theta, seed, pass_index, fraction, weights=None):
    """One SGD pass over a block: the full loss at ``theta`` and the sample's gradient.

    Returns ``n``, ``loss_exact`` (sum of losses over all rows), ``sample_n`` and
    ``sample_grad_exact`` (p,) = sum over the sampled rows of the loss gradient; sums are
    :func:`exact_sums` integers. With ``weights`` (n,) the losses and gradients are
    weighted, and ``weight_exact`` / ``sample_weight_exact`` are the weight sums of all
    and of the sampled rows (the denominators, exact like the numerators).
    """
    z = row_margins(X, theta)
    value, d1 = weighted_rows(weights, *_loss_derivatives(loss, z, y, 1)[:2])
    chosen = sample_mask(X, y, seed, pass_index, fraction)
    per_row = np.column_stack([X[chosen] * d1[chosen, None], d1[chosen]])
    sums = {"n": X.shape[0], "loss_exact": exact_sums(value[:, None])[0],
            "sample_n": int(chosen.sum()), "sample_grad_exact": exact_sums(per_row)}
    if weights is not None:
        sums.update(weight_exact=exact_sums(weights[:, None])[0],
                    sample_weight_exact=exact_sums(weights[chosen, None])[0])
    return sums


def learning_rate(schedule, step, eta0, power_t, l2):
    """Step size at step ``step`` (0-based) for a scikit-learn-named schedule.

    ``constant``: eta0; ``invscaling``: eta0 / (step + 1)^power_t; ``optimal``:
    1 / (l2 (t0 + step)) with t0 = 1 / (l2 eta0), Pegasos-style; ``adagrad``: eta0 (scaled
    per coordinate by the caller).
    """
    if schedule == "invscaling":
        return eta0 / (step + 1.0) ** power_t
    if schedule == "optimal":
        return 1.0 / (l2 * (1.0 / (l2 * eta0) + step))
    return eta0


def sgd_step(theta, grad, step, options, adagrad_sum=None):
    """One update ``theta - eta * grad`` (+ AdaGrad scaling); returns (theta, adagrad_sum)."""
    eta = learning_rate(options["schedule"], step, options["eta0"], options["power_t"],
                        options["l2"])
    if options["schedule"] == "adagrad":
        adagrad_sum = grad * grad if adagrad_sum is None else adagrad_sum + grad * grad
        return theta - eta * grad / (np.sqrt(adagrad_sum) + 1e-10), adagrad_sum
    return theta - eta * grad, adagrad_sum


def regularized_gradient(loss_grad_sum, count, theta, l2):
    """Mean loss gradient plus the ridge term (intercept not penalized), shape (p,).
    ``count``: rows, or their total weight (the sum is taken as the mean when it is 0)."""
    ridge = l2 * theta
    ridge[-1] = 0.0
    return loss_grad_sum / (count or 1) + ridge


def local_sgd(loss, X, y, theta, options, seed, pass_index, weights=None):
    """``options["local_epochs"]`` epochs of mini-batch SGD over the rows ``X`` (n, d).

    Rows are visited in an order fixed by a hash of (seed, pass, epoch, row values);
    batches of ``options["batch_size"]`` rows; the objective is mean loss + l2/2 |w|^2
    (the weighted mean with ``weights`` (n,): a batch's gradient is its weighted mean).
    The learning-rate schedule continues across passes: pass k starts at the step count
    the k - 1 earlier passes took on these rows. Returns the final ``theta`` (d + 1,).
    """
    theta = np.array(theta, dtype=np.float64)
    batch = options["batch_size"]
    steps_per_pass = options["local_epochs"] * -(-len(y) // batch)
    adagrad_sum, step = None, (pass_index - 1) * steps_per_pass
    for epoch in range(options["local_epochs"]):
        order = np.argsort(row_uniforms(np.column_stack([y, X]), seed,
                                        pass_index * 1000 + epoch), kind="stable")
        for lo in range(0, len(order), batch):
            rows = order[lo:lo + batch]
            _, d1, _ = _loss_derivatives(loss, row_margins(X[rows], theta), y[rows], 1)
            count = len(rows)
            if weights is not None:
                d1, count = d1 * weights[rows], float(weights[rows].sum())
            grad = regularized_gradient(np.append(X[rows].T @ d1, d1.sum()), count,
                                        theta, options["l2"])
            theta, adagrad_sum = sgd_step(theta, grad, step, options, adagrad_sum)
            step += 1
    return theta
