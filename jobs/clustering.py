"""Pure-numpy k-means kernels: distances, Lloyd sums and split-independent row sampling.

Random decisions about a row (which row is the first center, whether a row is an
oversampling candidate) come from :func:`row_uniforms`, a hash of the row's values and a
(seed, stream) pair. So they depend neither on how the input is split nor on the order
rows arrive, and every runner and number of mappers picks the same rows.

Selections that keep "the best few rows" travel as *top lists*: ``[limit, items]`` with
items ``[score, x_1, ..., x_d]``, all different; merging two keeps the ``limit`` highest
distinct items (ties broken by the row's values), see :func:`merge_top`. Identical rows get
the same hash and so count as one: the sampled choices are among distinct row values.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

_MASK64 = (1 << 64) - 1
_ROWS_PER_CHUNK_ELEMENTS = 1 << 21  # bounds the (rows x centers) distance matrix


def splitmix64(h):
    """splitmix64 finalizer on a uint64 array (wrapping arithmetic)."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _scalar_mix(value):
    return int(splitmix64(np.array([value & _MASK64], dtype=np.uint64))[0])


def row_uniforms(X, seed, stream):
    """Uniform numbers in [0, 1), one per row of ``X`` (n, d), fixed by the row's values.

    ``seed`` and ``stream`` (ints) select independent sequences: the same row gets the
    same number for the same (seed, stream) wherever and whenever it is read.
    """
    start = _scalar_mix(_scalar_mix(seed) ^ ((stream * 0x9E3779B97F4A7C15) & _MASK64))
    bits = np.ascontiguousarray(X + 0.0, dtype=np.float64).view(np.uint64)  # -0.0 -> 0.0
    h = np.full(X.shape[0], start, dtype=np.uint64)
    for j in range(X.shape[1]):
        h = splitmix64(h ^ bits[:, j])
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def nearest(X, C):
    """Nearest center of each row: ``(labels (n,) int, squared distances (n,))``.

    Uses ``|x|^2 - 2 x.c + |c|^2`` over row chunks, so memory stays bounded for large k.
    """
    n, k = X.shape[0], C.shape[0]
    labels = np.empty(n, dtype=np.int64)
    d2 = np.empty(n)
    c_sq = np.einsum("ij,ij->i", C, C)
    step = max(1, _ROWS_PER_CHUNK_ELEMENTS // max(k, 1))
    for lo in range(0, n, step):
        x = X[lo:lo + step]
        dist = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * (x @ C.T) + c_sq
        labels[lo:lo + step] = np.argmin(dist, axis=1)
        d2[lo:lo + step] = np.maximum(dist[np.arange(len(x)), labels[lo:lo + step]], 0.0)
    return labels, d2


def lloyd_sums(X, C, n_far, weights=None):
    """One Lloyd step's sums for centers ``C`` (k, d) over rows ``X`` (n, d), weighted by
    ``weights`` (n,) or None (every row weighs 1).

    Returns ``counts`` (k,) (weight sums with weights), coordinate ``sums`` (k, d),
    ``inertia`` (sum of (weighted) squared distances to the nearest center) and ``far``: a
    top list of the ``n_far`` rows farthest from their center (score = squared distance;
    rows of weight 0 left out), to re-seed empty clusters.
    """
    k, d = C.shape
    labels, d2 = nearest(X, C)
    counts = np.bincount(labels, weights=weights, minlength=k).astype(np.float64)
    wX = X if weights is None else X * weights[:, None]
    sums = np.empty((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=wX[:, j], minlength=k)
    if weights is None:
        return counts, sums, float(d2.sum()), top_list(d2, X, n_far)
    some = weights > 0
    return counts, sums, float(weights @ d2), top_list(d2[some], X[some], n_far)


def first_top(u, X, limit, weights=None):
    """Top list of ``limit`` rows of ``X`` (n, d) sampled without replacement: by the
    smallest uniforms ``u`` (n,) (a uniform sample of distinct rows), or with ``weights``
    (n,) each draw of probability ~ weight (Efraimidis-Spirakis keys ``log(u) / w``; rows
    of weight 0 are never drawn)."""
    if weights is None:
        return top_list(-u, X, limit)
    some = weights > 0
    return top_list(np.log(np.maximum(u[some], 1e-300)) / weights[some], X[some], limit)


def top_list(scores, X, limit):
    """Top list of the ``limit`` distinct rows of ``X`` (n, d) with the highest ``scores`` (n,).

    Identical rows count once (they have equal scores wherever the score is a function of
    the row), so a list holds ``limit`` different rows whenever the block has them.
    """
    n = len(scores)
    if limit <= 0 or n == 0:
        return [limit, []]
    items, take = np.column_stack([scores, X]), limit
    while True:
        threshold = np.partition(scores, n - min(take, n))[n - min(take, n)]
        distinct = np.unique(items[scores >= threshold], axis=0)  # ascending, ties included
        if len(distinct) >= limit or take >= n:
            return [limit, distinct[::-1][:limit].tolist()]
        take *= 2


def merge_top(a, b):
    """Merge two top lists: the ``limit`` highest distinct items, ties by row values."""
    limit = max(a[0], b[0])
    items = sorted(a[1] + b[1], reverse=True)
    distinct = [item for i, item in enumerate(items) if i == 0 or item != items[i - 1]]
    return [limit, distinct[:limit]]


def oversample(X, C, u, ell, cost_so_far, kept, weights=None):
    """k-means|| candidate sampling over one block, with a bound on what is kept.

    A row is finally a candidate when ``u < ell * d2 / cost`` with ``cost`` the total
    cost over *all* rows (known only after the pass). A split's running cost never
    exceeds the total, so keeping the rows with ``u < ell * d2 / cost_so_far`` keeps a
    superset; the driver applies the exact test. ``kept`` is ``(n_kept, 2 + d)`` rows
    ``[u, d2, x]`` kept so far; returns ``(cost_so_far, kept)`` updated with this block.
    With ``weights`` (n,), ``d2`` is the weighted ``w d2`` throughout (scikit-learn's
    sampling by ``sample_weight * d2``).
    """
    d2 = _weighted_d2(X, C, weights)
    cost_so_far += float(d2.sum())
    if cost_so_far <= 0.0:
        return cost_so_far, kept
    new = np.column_stack([u, d2, X])[u * cost_so_far < ell * d2]
    kept = np.vstack([kept, new])
    return cost_so_far, kept[kept[:, 0] * cost_so_far < ell * kept[:, 1]]


def _weighted_d2(X, C, weights):
    """Squared distances (n,) of the rows to the nearest center, times ``weights`` if given."""
    d2 = nearest(X, C)[1]
    return d2 if weights is None else d2 * weights


def weighted_pick(X, C, u, weights=None):
    """Top list of one row of ``X`` (n, d) drawn with probability ~ d2 to ``C`` (k, d)
    (~ ``w d2`` with ``weights`` (n,)).

    Efraimidis-Spirakis: the row of largest key ``log(u) / d2`` (``u`` (n,) uniforms) is
    the draw. Rows at distance 0 (already centers) and of weight 0 are never drawn: the
    list is empty when every row is one.
    """
    d2 = _weighted_d2(X, C, weights)
    far = d2 > 0.0
    keys = np.log(np.maximum(u[far], 1e-300)) / d2[far]
    return top_list(keys, X[far], 1)


def clustering_sums(X, y, C, weights=None):
    """Evaluation sums for centers ``C`` (k, d): ``n``, ``inertia``, ``sizes`` (k,) (both
    weighted by ``weights`` (n,) when given) and, when labels ``y`` (n,) are given, the
    ``contingency`` table of (cluster, label) (row counts)."""
    labels, d2 = nearest(X, C)
    sums = {"n": X.shape[0], "inertia": float(d2.sum() if weights is None else weights @ d2),
            "sizes": np.bincount(labels, weights=weights, minlength=len(C)).astype(np.float64)}
    if y is not None:
        sums["contingency"] = contingency(labels, y)
    return sums


def contingency(labels, y):
    """Counts of (cluster, label) pairs as ``{"cluster|label": count}``."""
    pairs, counts = np.unique(np.column_stack([labels, y]), axis=0, return_counts=True)
    return {"%d|%r" % (int(c), float(lab)): int(m) for (c, lab), m in zip(pairs, counts)}


def adjusted_rand_index(table):
    """Adjusted Rand index from a ``{"cluster|label": count}`` contingency table."""
    clusters, labels, cells = {}, {}, []
    for key, m in table.items():
        c, lab = key.split("|")
        clusters[c] = clusters.get(c, 0) + m
        labels[lab] = labels.get(lab, 0) + m
        cells.append(m)

    def pairs(values):
        v = np.asarray(list(values), dtype=np.float64)
        return float((v * (v - 1) / 2).sum())

    n = sum(cells)
    index, a, b = pairs(cells), pairs(clusters.values()), pairs(labels.values())
    expected = a * b / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (a + b) / 2
    if top == expected:
        return 1.0
    return (index - expected) / (top - expected)
