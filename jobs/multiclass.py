"""Pure-numpy kernels for K classes: softmax (multinomial) and one-vs-rest sums.

Sums over a block of rows, never means (see :mod:`jobs.kernels`). Classes are the sorted
distinct raw labels ``classes`` (K,); a row's class index is its label's position there.

Multinomial parameters are K rows ``[w_k, b_k]`` flattened class after class: a candidate
has shape ``(K * (d + 1),)``, ``m`` candidates ``(m, K * (d + 1))``. The per-row loss is
scikit-learn's symmetric softmax loss ``logsumexp_k(z_k) - z_y`` with ``z_k = x.w_k + b_k``.

One-vs-rest stacks the candidates of several binary problems ``[w, b]`` (M, d + 1), with
``problem`` (M,) naming the class each one separates from the rest.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.kernels import _loss_derivatives, _weighted_gram, weighted_rows
from jobs.sketch import score_sketch

HESSIAN_CHUNK = 1 << 21
"""Rows of a block are taken in chunks of at most this many numbers of ``P x [X 1]``
(16 MB) for the softmax Hessian."""


def class_index(y, classes):
    """Position (n,) of each raw label ``y`` (n,) among the sorted ``classes`` (K,).

    Labels must be among the classes (the pass's ``label_values`` make others bad rows).
    """
    return np.searchsorted(np.asarray(classes, dtype=np.float64), y)


def label_sums(X, y, weights=None):
    """Per-label sums of ``[x, 1]`` (weighted by ``weights`` (n,) when given): dict
    ``label_key(label) -> (d + 1,)`` (the last entry is the row count, or weight total). With the Gram of ``[X 1]`` these give the softmax and one-vs-rest
    objective, gradient and Hessian at zero (:mod:`driver.multiclass`)."""
    labels, inverse = np.unique(y, return_inverse=True)
    sums = np.zeros((len(labels), X.shape[1] + 1))
    if isinstance(X, np.ndarray):
        np.add.at(sums, (inverse, slice(None, -1)), X if weights is None else X * weights[:, None])
    else:
        val = X.val if weights is None else X.val * weights[X.row]
        np.add.at(sums, (inverse[X.row], X.col), val)
    sums[:, -1] = np.bincount(inverse, weights=weights, minlength=len(labels))
    return {label_key(v): s for v, s in zip(labels, sums)}


def class_totals(y, weights):
    """Per-label row counts, or weight sums with ``weights`` (n,): dict ``label_key(label) ->
    float`` (merged per key by addition), for ``--class-weight balanced``."""
    labels, inverse = np.unique(y, return_inverse=True)
    totals = np.bincount(inverse, weights=weights, minlength=len(labels))
    return {label_key(v): float(t) for v, t in zip(labels, totals)}


def label_key(label):
    """The key of a label in :func:`label_sums` (-0.0 and 0.0 are one label)."""
    return repr(float(label) + 0.0)


def _margins(X, thetas):
    """``X w + b`` (n, M) for parameter rows ``thetas`` (M, d + 1)."""
    d = X.shape[1]
    return X @ thetas[:, :d].T + thetas[:, d]


def _softmax(Z):
    """``(log-sum-exp (..., 1), probabilities)`` over the last axis of ``Z``, stably."""
    top = Z.max(axis=-1, keepdims=True)
    lse = top + np.log(np.exp(Z - top).sum(axis=-1, keepdims=True))
    return lse, np.exp(Z - lse)


def softmax_sums(X, k, thetas, n_classes, order=1, hess_at=0, weights=None):
    """Softmax loss and gradient sums at ``m`` candidates, and the Hessian sums at one.

    Parameters
    ----------
    X : ndarray (n, d) (or :class:`jobs.parsing.SparseRows` when ``order < 2``)
    k : int ndarray (n,), class index of each row (:func:`class_index`)
    thetas : ndarray (m, K * (d + 1)), K rows ``[w_k, b_k]`` each
    order : 0, 1 (+ gradient) or 2 (+ Hessian at candidate ``hess_at``)
    weights : ndarray (n,) of row weights, or None (every row weighs 1)

    Returns
    -------
    dict with ``n``, ``loss`` (m,), ``grad`` (m, K (d + 1)) and ``hess``
    (K (d + 1), K (d + 1)): block ``(j, l)`` is ``sum_i p_ij (delta_jl - p_il) a_i a_i^T``
    with ``a_i = [x_i, 1]``.
    """
    thetas = np.atleast_2d(thetas)
    n, d = X.shape
    m, K, p = len(thetas), n_classes, d + 1
    Z = _margins(X, thetas.reshape(m * K, p)).reshape(n, m, K)
    lse, P = _softmax(Z)
    value, = weighted_rows(weights, lse[:, :, 0] - Z[np.arange(n), :, k])
    sums = {"n": n, "loss": value.sum(axis=0)}
    if order >= 1:
        R = P.copy()
        R[np.arange(n), :, k] -= 1.0
        if weights is not None:
            R *= weights[:, None, None]
        grad = np.empty((m, K, p))
        grad[:, :, :d] = (X.T @ R.reshape(n, m * K)).T.reshape(m, K, d)
        grad[:, :, d] = R.sum(axis=0)
        sums["grad"] = grad.reshape(m, K * p)
    if order >= 2:
        sums["hess"] = _softmax_hessian(X, P[:, hess_at, :], weights)
    return sums


def _softmax_hessian(X, P, weights=None):
    """``sum_i w_i (diag(p_i) - p_i p_i^T) kron a_i a_i^T`` (K p, K p) for probabilities
    ``P`` (n, K) and row weights ``w`` (1 when None); the diagonal blocks are summed with
    the weights ``w p (1 - p)`` directly, which keeps their digits when a probability is
    near 1."""
    if not isinstance(X, np.ndarray):
        raise ValueError("Hessian sums need dense rows; this block is sparse")
    n, K = P.shape
    p = X.shape[1] + 1
    H = np.zeros((K * p, K * p))
    step = max(1, HESSIAN_CHUNK // (K * p))
    for start in range(0, n, step):
        A = np.hstack([X[start:start + step], np.ones((min(step, n - start), 1))])
        if weights is not None:
            A *= np.sqrt(weights[start:start + step])[:, None]
        B = (P[start:start + step, :, None] * A[:, None, :]).reshape(len(A), K * p)
        H -= B.T @ B
    for j in range(K):
        s = P[:, j] * (1.0 - P[:, j])
        H[j * p:(j + 1) * p, j * p:(j + 1) * p] = _weighted_gram(
            X, s if weights is None else s * weights)
    return H


def ovr_labels(loss, y, classes, problem):
    """Encoded labels (n, M) of the one-vs-rest problems ``problem`` (M,) (class indices):
    1 / 0 for the logistic loss, 1 / -1 for the hinge losses."""
    positive = y[:, None] == np.asarray(classes, dtype=np.float64)[problem][None, :]
    return positive.astype(np.float64) if loss == "logistic" else np.where(positive, 1.0, -1.0)


def ovr_sums(loss, X, y, classes, thetas, problem, order=1, hess_at=(), weights=None):
    """Sums of the binary problems "class ``problem[j]`` against the rest" at their
    stacked candidates ``thetas`` (M, d + 1), rows weighted by ``weights`` (n,) if given.

    ``hess_at``: the candidates (indices into ``thetas``) whose Hessian ``order == 2``
    sums, one per problem that needs one. Returns dict with ``n``, ``loss`` (M,), ``grad``
    (M, d + 1) and ``hess`` (len(hess_at), d + 1, d + 1).
    """
    thetas = np.atleast_2d(thetas)
    hess_at = list(hess_at)
    value, d1, d2 = _loss_derivatives(loss, _margins(X, thetas),
                                      ovr_labels(loss, y, classes, problem), order, hess_at)
    value, d1, d2 = weighted_rows(weights, value, d1, d2)
    sums = {"n": X.shape[0], "loss": value.sum(axis=0)}
    if order >= 1:
        sums["grad"] = np.hstack([(X.T @ d1).T, d1.sum(axis=0)[:, None]])
    if order >= 2:
        sums["hess"] = np.array([_weighted_gram(X, d2[:, j]) for j in range(len(hess_at))])
    return sums


def class_scores(kind, loss, X, thetas):
    """``(margins (n, K), scores (n, K))`` of a K-class model ``thetas`` (K, d + 1).

    Scores: softmax probabilities (``multinomial``), normalized one-vs-rest sigmoids
    (``ovr`` with the logistic loss, as scikit-learn's ``OneVsRestClassifier``), or the
    margins themselves (``ovr`` svm). The predicted class is the argmax of the margins.
    """
    Z = _margins(X, np.asarray(thetas, dtype=np.float64))
    if kind == "multinomial":
        return Z, _softmax(Z)[1]
    if loss == "logistic":
        S = np.exp(-np.logaddexp(0.0, -Z))
        return Z, S / S.sum(axis=1, keepdims=True)
    return Z, Z


def multiclass_eval_sums(kind, loss, X, y, classes, thetas, weights=None):
    """Evaluation sums of a K-class model on labelled rows ``y`` (raw labels, among
    ``classes``), weighted by ``weights`` (n,) when given.

    Returns dict: ``n``, ``correct``, ``confusion`` (K, K) counts (row: true class,
    column: predicted; weight totals with weights), ``class_sketches`` (K score sketches
    of :func:`class_scores`' scores, class k positive, for one-vs-rest ROC AUC) and for
    the logistic loss ``loss``, the sum of ``-log p(true class)``.
    """
    K = len(classes)
    k = class_index(y, classes)
    Z, S = class_scores(kind, loss, X, thetas)
    predicted = Z.argmax(axis=1)
    right = (predicted == k).astype(np.float64)
    cells = np.bincount(k * K + predicted, weights=weights, minlength=K * K).reshape(K, K)
    sums = {"n": len(y),
            "correct": int(right.sum()) if weights is None else float(right @ weights),
            "confusion": cells if weights is not None else cells.astype(np.int64),
            "class_sketches": [score_sketch(S[:, j], k == j, weights=weights)
                               for j in range(K)]}
    if loss == "logistic":
        rows = np.arange(len(y))
        if kind == "multinomial":
            per_row = _softmax(Z)[0][:, 0] - Z[rows, k]
        else:
            per_row = -np.log(S[rows, k])
        sums["loss"] = float(weighted_rows(weights, per_row)[0].sum())
    return sums
