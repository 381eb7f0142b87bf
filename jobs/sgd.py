"""Pure-numpy kernels for stochastic gradient descent: sampling, exact sums, local SGD.

Mini-batch SGD must give the same model for any number of mappers, so its sums may not
depend on how rows are grouped: :func:`exact_sums` adds per-row values on a fixed-point
grid (2^-32) as integers, which is exact and associative, and margins are computed row by
row (:func:`row_margins`), never by a BLAS call whose rounding depends on the block.

Rows may be dense (ndarray (n, d)) or sparse (:class:`jobs.parsing.SparseRows`); the same
rows give the same sample, visiting order and (to rounding) the same model either way:
random choices hash a row's non-zero entries (:func:`row_keys`), and a sparse SGD step
costs the row's non-zeros, not d (the ridge shrinkage is a scale factor applied lazily,
as in Bottou's SGD and scikit-learn's).

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.clustering import splitmix64
from jobs.kernels import _loss_derivatives, weighted_rows
from jobs.parsing import SparseRows, take_rows

FIXED_POINT_BITS = 32
SCHEDULES = ("constant", "invscaling", "optimal", "adagrad")
_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HASHED_VALUE_BITS = ~np.uint64((1 << 20) - 1)
"""A value's bits the row hash reads: its low 20 mantissa bits are left out, so values that
differ by rounding (a sparse row's repeated entries added, then divided by a std, against
the dense cell divided) almost always hash alike."""
_SCALE_FLOOR = 1e-9
"""When the lazy ridge scale of :func:`local_sgd` falls below this, it is folded into the
weights (scikit-learn's ``wscale`` reset)."""


def _mix(value):
    return int(splitmix64(np.array([value & _MASK64], dtype=np.uint64))[0])


def distinct_entries(X):
    """Sparse rows ``X`` with each cell once, rows in order: the entries of one
    (row, column) added up (in their order, as the dense block adds them), zeros dropped."""
    cells = X.row * X.shape[1] + X.col
    val = X.val
    if not np.all(cells[1:] > cells[:-1]):
        order = np.argsort(cells, kind="stable")
        cells, val = cells[order], val[order]
        first = np.flatnonzero(np.append(True, cells[1:] != cells[:-1]))
        cells, val = cells[first], np.add.reduceat(val, first)
    nonzero = val != 0
    cells = cells[nonzero]
    return SparseRows(cells // X.shape[1], cells % X.shape[1], val[nonzero], X.shape)


def _nonzeros(X):
    """``(row, col, val)`` of the non-zero cells of ``X`` (dense or distinct sparse rows)."""
    if isinstance(X, np.ndarray):
        row, col = np.nonzero(X)
        return row, col, X[row, col]
    return X.row, X.col, X.val


def row_keys(X, y, seed, stream):
    """Uniform numbers in [0, 1) (n,), one per row, from the row's label (``y`` (n,) or
    None) and its non-zero cells (column, value): a dense row and the sparse row of the
    same values get the same number, wherever and however the rows are split.
    ``X`` is dense or :func:`distinct_entries` rows; ``seed``, ``stream`` select the
    sequence."""
    row, col, val = _nonzeros(X)
    bits = np.ascontiguousarray(val, dtype=np.float64).view(np.uint64) & _HASHED_VALUE_BITS
    cell = splitmix64(splitmix64((col.astype(np.uint64) + np.uint64(1)) * _GOLDEN) ^ bits)
    content = np.zeros(X.shape[0], dtype=np.uint64)
    np.add.at(content, row, cell)  # wrapping sum: the cells' order does not matter
    start = _mix(_mix(seed) ^ ((stream * 0x9E3779B97F4A7C15) & _MASK64))
    h = np.full(X.shape[0], start, dtype=np.uint64)
    if y is not None:
        h = splitmix64(h ^ np.ascontiguousarray(y + 0.0, dtype=np.float64).view(np.uint64))
    h = splitmix64(h ^ content)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _canonical(X):
    return X if isinstance(X, np.ndarray) else distinct_entries(X)


def row_margins(X, theta):
    """``X w + b`` (n,) with each row's dot product in one fixed order (sparse rows: their
    entries' order), whatever the block."""
    d = X.shape[1]
    if isinstance(X, np.ndarray):
        return (X * theta[:d]).sum(axis=1) + theta[d]
    return X @ theta[:d] + theta[d]


def _on_grid(values):
    """``values`` on the 2^-32 grid (float integers), or None when one is not finite."""
    fixed = np.rint(np.ldexp(values, FIXED_POINT_BITS))
    return fixed if np.isfinite(fixed).all() else None


def _fits_int64(fixed):
    return not len(fixed) or np.abs(fixed).max() * len(fixed) < 2.0 ** 62


def exact_sums(values):
    """Column sums of ``values`` (n, p) on a 2^-32 grid, as Python ints (exact, associative).

    Non-finite values (a diverged model) give NaN sums."""
    if not len(values):
        return [0] * values.shape[1]
    fixed = _on_grid(values)
    if fixed is None:  # a diverged model: NaN reaches the driver, which stops
        return [float("nan")] * values.shape[1]
    if _fits_int64(fixed):
        return [int(v) for v in fixed.astype(np.int64).sum(axis=0, dtype=np.int64)]
    return [sum(int(v) for v in column) for column in fixed.T]


def exact_gradient_sums(X, d1):
    """:func:`exact_sums` of the rows of ``[X * d1, d1]`` (p = d + 1), ``X`` dense or
    distinct sparse rows: a sparse row's values are rounded cell by cell, as the dense
    row's, so both give the same integers."""
    if isinstance(X, np.ndarray):
        return exact_sums(np.column_stack([X * d1[:, None], d1]))
    fixed = _on_grid(X.val * d1[X.row])
    if fixed is None or _on_grid(d1) is None:
        return [float("nan")] * (X.shape[1] + 1)
    intercept = exact_sums(d1[:, None])
    if _fits_int64(fixed):
        sums = np.zeros(X.shape[1], dtype=np.int64)
        np.add.at(sums, X.col, fixed.astype(np.int64))
        return [int(v) for v in sums] + intercept
    out = [0] * X.shape[1]
    for c, v in zip(X.col.tolist(), fixed.tolist()):
        out[c] += int(v)
    return out + intercept


def from_exact(sums):
    """Floats (p,) from :func:`exact_sums` integers."""
    return np.array([np.ldexp(float(s), -FIXED_POINT_BITS) for s in sums])


def sample_mask(X, y, seed, pass_index, fraction):
    """Bernoulli(``fraction``) choice of rows (n,) by a hash of (seed, pass, row values)."""
    return row_keys(_canonical(X), y, seed, pass_index) < fraction


def sgd_pass_sums(loss, X, y, theta, seed, pass_index, fraction, weights=None):
    """One SGD pass over a block: the full loss at ``theta`` and the sample's gradient.

    ``X``: dense (n, d) or sparse rows. Returns ``n``, ``loss_exact`` (sum of losses over
    all rows), ``sample_n`` and ``sample_grad_exact`` (p,) = sum over the sampled rows of
    the loss gradient; sums are :func:`exact_sums` integers. With ``weights`` (n,) the
    losses and gradients are weighted, and ``weight_exact`` / ``sample_weight_exact`` are
    the weight sums of all and of the sampled rows (the denominators, exact like the
    numerators).
    """
    X = _canonical(X)
    z = row_margins(X, theta)
    value, d1 = weighted_rows(weights, *_loss_derivatives(loss, z, y, 1)[:2])
    chosen = row_keys(X, y, seed, pass_index) < fraction
    sums = {"n": X.shape[0], "loss_exact": exact_sums(value[:, None])[0],
            "sample_n": int(chosen.sum()),
            "sample_grad_exact": exact_gradient_sums(take_rows(X, chosen), d1[chosen])}
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


def _eta(options, step):
    return learning_rate(options["schedule"], step, options["eta0"], options["power_t"],
                         options["l2"])


def sgd_step(theta, grad, step, options, adagrad_sum=None):
    """One update ``theta - eta * grad`` (+ AdaGrad scaling); returns (theta, adagrad_sum)."""
    eta = _eta(options, step)
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
    """``options["local_epochs"]`` epochs of mini-batch SGD over the rows ``X`` (n, d),
    dense or sparse.

    Rows are visited in an order fixed by a hash of (seed, pass, epoch, row values);
    batches of ``options["batch_size"]`` rows; the objective is mean loss + l2/2 |w|^2
    (the weighted mean with ``weights`` (n,): a batch's gradient is its weighted mean).
    The learning-rate schedule continues across passes: pass k starts at the step count
    the k - 1 earlier passes took on these rows. Returns the final ``theta`` (d + 1,).
    Sparse rows take :func:`_sparse_epoch`'s steps: the same updates, each costing the
    batch's non-zeros (AdaGrad's: d, its scaling is per coordinate).
    """
    theta = np.array(theta, dtype=np.float64)
    X = _canonical(X)
    batch = options["batch_size"]
    steps_per_pass = options["local_epochs"] * -(-len(y) // batch)
    adagrad_sum, step = None, (pass_index - 1) * steps_per_pass
    for epoch in range(options["local_epochs"]):
        order = np.argsort(row_keys(X, y, seed, pass_index * 1000 + epoch), kind="stable")
        if not isinstance(X, np.ndarray):
            theta, adagrad_sum = _sparse_epoch(loss, X, y, weights, order, theta, options,
                                               step, adagrad_sum)
            step += -(-len(order) // batch)
            continue
        for lo in range(0, len(order), batch):
            rows = order[lo:lo + batch]
            d1, count = _batch_derivatives(loss, row_margins(X[rows], theta), y[rows],
                                           weights, rows)
            grad = regularized_gradient(np.append(X[rows].T @ d1, d1.sum()), count,
                                        theta, options["l2"])
            theta, adagrad_sum = sgd_step(theta, grad, step, options, adagrad_sum)
            step += 1
    return theta


def _batch_derivatives(loss, z, y, weights, rows):
    """The (weighted) loss derivatives of a batch and its row count (or weight sum)."""
    _, d1, _ = _loss_derivatives(loss, z, y, 1)
    if weights is None:
        return d1, len(rows)
    return d1 * weights[rows], float(weights[rows].sum())


def _sparse_epoch(loss, X, y, weights, order, theta, options, step, adagrad_sum):
    """One epoch of :func:`local_sgd` over distinct sparse rows ``X`` in ``order``.

    The rows' entries are gathered once in visiting order, so a batch is a slice. Without
    AdaGrad, ``w = scale * v``: the ridge step ``w (1 - eta l2)`` only changes ``scale``
    and the loss step touches the batch's columns of ``v`` (O(nnz) a step)."""
    batch, d, l2 = options["batch_size"], X.shape[1], options["l2"]
    per_row = np.bincount(X.row, minlength=X.shape[0])
    lengths = per_row[order]
    bounds = np.append(0, np.cumsum(lengths))  # batch rows lo..hi: entries bounds[lo]..[hi]
    entry = (np.repeat((np.cumsum(per_row) - per_row)[order] - bounds[:-1], lengths)
             + np.arange(bounds[-1]))
    col, val = X.col[entry], X.val[entry]
    position = np.repeat(np.arange(len(order)), lengths)
    adagrad = options["schedule"] == "adagrad"
    scale, v, b = 1.0, theta[:d].copy(), theta[d]
    for lo in range(0, len(order), batch):
        rows = order[lo:lo + batch]
        s, e = bounds[lo], bounds[min(lo + batch, len(order))]
        c, x, at = col[s:e], val[s:e], position[s:e] - lo
        z = scale * np.bincount(at, weights=x * v[c], minlength=len(rows)) + b
        d1, count = _batch_derivatives(loss, z, y[rows], weights, rows)
        g = x * d1[at]
        if adagrad:
            theta = np.append(v, b)
            grad = regularized_gradient(np.append(np.bincount(c, weights=g, minlength=d),
                                                  d1.sum()), count, theta, l2)
            theta, adagrad_sum = sgd_step(theta, grad, step, options, adagrad_sum)
            v, b = theta[:d], theta[d]
        else:
            eta, count = _eta(options, step), count or 1
            scale *= 1.0 - eta * l2
            if abs(scale) < _SCALE_FLOOR:
                v, scale = v * scale, 1.0
            np.add.at(v, c, g * (-eta / (count * scale)))
            b -= eta * d1.sum() / count
        step += 1
    return np.append(scale * v, b), adagrad_sum
