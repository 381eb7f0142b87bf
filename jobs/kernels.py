"""Pure-numpy kernels: additive sums over a block of rows.

Every function here takes a block ``X`` of shape ``(n, d)`` (float64 array; the loss and
gradient sums and the evaluation sums also take :class:`jobs.parsing.SparseRows`), labels
``y`` of shape ``(n,)`` and returns *sums*, never means: two blocks merge by ``+`` (or, for
centered statistics, by :func:`merge_moments`). Normalisation by the row count and the
regularisation term are the driver's business, applied once.

Parameters are packed as ``theta = [w_1 .. w_d, b]`` (coefficients, then intercept), so a
block of ``m`` candidate parameter vectors has shape ``(m, d + 1)``.

Label conventions (see :func:`encode_labels`): logistic loss takes ``y`` in {0, 1};
hinge and squared hinge take ``y`` in {-1, +1}; squared loss takes real ``y``.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.sketch import score_sketch

LOSSES = ("squared", "logistic", "hinge", "squared_hinge")


def encode_labels(y, loss):
    """Map raw labels to the convention ``loss`` expects.

    Classifier labels may be {0, 1} or {-1, 1}; a label > 0 is the positive class.
    Returns float64 array of shape ``(n,)``.
    """
    if loss == "squared":
        return y
    positive = y > 0
    if loss == "logistic":
        return positive.astype(np.float64)
    return np.where(positive, 1.0, -1.0)


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, overflow-free and relatively exact."""
    return np.exp(-np.logaddexp(0.0, -z))


def _loss_derivatives(loss, z, y, order, hess_at=0):
    """Per-row loss value and its first/second derivative in the margin ``z``.

    ``z`` has shape ``(n, m)`` (one column per candidate), ``y`` shape ``(n, 1)``.
    Returns ``(value (n, m), d1 (n, m), d2 (n,))``; ``d1`` is None when ``order < 1``;
    ``d2`` is None when ``order < 2``, else the second derivative at candidate
    ``hess_at`` only. For squared hinge ``d2`` is the generalized second derivative (2 on
    rows inside the margin); for hinge ``d1`` is a subgradient and ``d2`` is 0.
    """
    d1 = d2 = None
    if loss == "squared":
        r = z - y
        value = 0.5 * r * r
        if order >= 1:
            d1 = r
        if order >= 2:
            d2 = np.ones(len(z))
    elif loss == "logistic":
        # log(1 + exp(z)) - y z = max(z, 0) + log1p(exp(-|z|)) - y z: stable for any |z|,
        # and exp(-|z|) also gives the sigmoid and its derivative
        e = np.exp(-np.abs(z))
        value = np.maximum(z, 0.0) + np.log1p(e) - y * z
        if order >= 1:
            d1 = np.where(z >= 0.0, 1.0, e) / (1.0 + e) - y
        if order >= 2:
            e = e[:, hess_at]
            d2 = e / ((1.0 + e) * (1.0 + e))  # sigmoid(z) (1 - sigmoid(z))
    elif loss in ("hinge", "squared_hinge"):
        slack = np.maximum(0.0, 1.0 - y * z)
        if loss == "hinge":
            value = slack
            if order >= 1:
                d1 = -y * (slack > 0.0)
            if order >= 2:
                d2 = np.zeros(len(z))
        else:
            value = slack * slack
            if order >= 1:
                d1 = -2.0 * y * slack
            if order >= 2:
                d2 = 2.0 * (slack[:, hess_at] > 0.0)
    else:
        raise ValueError("unknown loss %r; expected one of %s" % (loss, ", ".join(LOSSES)))
    return value, d1, d2


def loss_sums(loss, X, y, thetas, order=1, hess_at=0, weights=None, diagonal=False):
    """Loss and gradient sums of ``loss`` at ``m`` candidate parameter vectors, and the
    Hessian sums at one of them.

    Parameters
    ----------
    loss : one of :data:`LOSSES`
    X : ndarray (n, d)
    y : ndarray (n,), already encoded (:func:`encode_labels`)
    thetas : ndarray (m, d + 1), rows ``[w, b]``
    order : 0 (loss only), 1 (+ gradient) or 2 (+ gradient, and the Hessian at
        candidate ``hess_at`` only: a Newton pass needs one, the others are trial steps)
    hess_at : index of the candidate whose Hessian ``order == 2`` computes
    weights : ndarray (n,) of row weights >= 0, or None (every row weighs 1)
    diagonal : also the Hessian's diagonal at candidate ``hess_at`` (``X`` may be sparse)

    Returns
    -------
    dict with ``n`` (int), ``loss`` (m,), and when asked ``grad`` (m, d + 1),
    ``hess`` (d + 1, d + 1) and ``hess_diag`` (d + 1,): sums over the rows of the per-row
    loss ``l(x.w + b, y)`` and of its derivatives in ``theta``, each row's term times its
    weight.
    """
    thetas = np.atleast_2d(thetas)
    n, d = X.shape
    z = X @ thetas[:, :d].T + thetas[:, d]  # (n, m)
    value, d1, d2 = weighted_rows(weights, *_loss_derivatives(
        loss, z, y[:, None], max(order, 2 if diagonal else 0), hess_at))
    sums = {"n": n, "loss": value.sum(axis=0)}
    if order >= 1:
        sums["grad"] = np.hstack([(X.T @ d1).T, d1.sum(axis=0)[:, None]])
    if order >= 2:
        sums["hess"] = _weighted_gram(X, d2)
    if diagonal:
        sums["hess_diag"] = hessian_diagonal(X, d2)
    return sums


def hessian_diagonal(X, s):
    """The diagonal (d + 1,) of ``[X 1]^T diag(s) [X 1]``, ``X`` dense or sparse rows."""
    return np.append(_squared(X).T @ s, s.sum())



def line_sums(loss, X, y, theta, direction, steps, weights=None, diagonal=False):
    """Loss sums at the ``m`` points ``theta + t direction`` (``t`` in ``steps``) of one
    line, and the gradient sum at the first of them: a line search through margins.

    The margins of every trial point are ``z(theta) + t z(direction)``: two products with
    ``X`` however many steps, instead of one per trial point (and one ``X^T`` product, for
    the single gradient, instead of ``m``).

    Parameters
    ----------
    X : ndarray (n, d) or :class:`jobs.parsing.SparseRows`
    y : ndarray (n,), already encoded (:func:`encode_labels`)
    theta, direction : ndarray (d + 1,), ``[w, b]``
    steps : sequence of m step lengths; the gradient is at ``steps[0]``
    diagonal : also the Hessian's diagonal at ``steps[0]``

    Returns
    -------
    dict with ``n``, ``loss`` (m,), ``grad`` (1, d + 1) and with ``diagonal``
    ``hess_diag`` (d + 1,): weighted sums over the rows.
    """
    steps = np.asarray(steps, dtype=np.float64)
    z = margins(X, theta)[:, None] + margins(X, direction)[:, None] * steps[None, :]
    value, d1, d2 = weighted_rows(weights, *_loss_derivatives(
        loss, z, y[:, None], 2 if diagonal else 1))
    first = d1[:, 0]
    sums = {"n": X.shape[0], "loss": value.sum(axis=0),
            "grad": np.append(X.T @ first, first.sum())[None, :]}
    if diagonal:
        sums["hess_diag"] = hessian_diagonal(X, d2)
    return sums


def margins(X, theta):
    """``X w + b`` (n,) of ``theta = [w, b]`` (d + 1,); ``X`` dense or sparse rows."""
    d = X.shape[1]
    return X @ theta[:d] + theta[d]


CG_TOL = 1e-6
"""Relative residual at which :func:`newton_direction_sums` stops conjugate gradients."""
CG_MAX_ITER = 200
"""Conjugate-gradient iterations :func:`newton_direction_sums` does at most (each is two
products with the split's rows)."""
CG_DAMPING = 1e-10
"""Added to the Hessian's intercept entry (not penalized), so the system is definite
even where no row has curvature."""


def newton_direction_sums(loss, X, y, theta, grad, l2, weights=None, diagonal=None):
    """One split's Newton step against the whole objective's gradient: GIANT's local
    direction (Wang et al., NeurIPS 2018), to be averaged over splits by their weight.

    Solves ``H_i p = grad`` by conjugate gradients with a Jacobi preconditioner, where
    ``H_i = [X 1]^T diag(s) [X 1] / W_i + l2 P + E`` is the Hessian at ``theta`` of this
    split's own objective: its rows' weighted mean loss (``s`` the rows' second
    derivatives times their weights, ``W_i`` their total weight) plus the ridge term
    (``P`` zero on the intercept, which gets :data:`CG_DAMPING` instead). ``E`` is
    diagonal: where the whole data's Hessian diagonal ``diagonal`` (without the ridge)
    exceeds the split's, the difference. A split that never sees a feature would
    otherwise step ``grad_j / l2`` along it (its Hessian there is the ridge alone), a
    step too long by the feature's whole curvature; with ``E`` no coordinate's curvature is
    less than the data's. Each CG iterate has ``grad . p > 0``, so ``-p`` is a descent
    direction of the whole objective.

    Parameters
    ----------
    X : ndarray (n, d) or :class:`jobs.parsing.SparseRows`: every row of the split
    y : ndarray (n,), already encoded; theta, grad : ndarray (d + 1,)
    l2 : ridge coefficient; weights : ndarray (n,) or None
    diagonal : ndarray (d + 1,) or None: the whole objective's Hessian diagonal at
        ``theta`` without the ridge (the mean over all rows, as the split's is)

    Returns
    -------
    dict: ``direction_sum`` ``W_i p`` (d + 1,), ``direction_weight`` ``W_i``,
    ``cg_iterations_max`` (the iterations this split took).
    """
    theta, grad = np.asarray(theta, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    n, d = X.shape
    d2 = _loss_derivatives(loss, margins(X, theta)[:, None], y[:, None], 2)[2]
    s = d2 if weights is None else d2 * weights
    total = float(n if weights is None else weights.sum())
    s = s / max(total, 1e-300)
    own = hessian_diagonal(X, s)
    ridge = np.append(np.full(d, float(l2)), CG_DAMPING)
    if diagonal is not None:
        ridge = ridge + np.maximum(0.0, np.asarray(diagonal, dtype=np.float64) - own)

    def hessian_times(v):
        t = s * margins(X, v)
        return np.append(X.T @ t, t.sum()) + ridge * v

    p, iterations = _preconditioned_cg(hessian_times, grad, 1.0 / (own + ridge))
    return {"direction_sum": total * p, "direction_weight": total,
            "cg_iterations_max": iterations}


def _squared(X):
    """``X`` with every entry squared (dense or sparse rows)."""
    if isinstance(X, np.ndarray):
        return X * X
    return type(X)(X.row, X.col, X.val * X.val, X.shape)


def _preconditioned_cg(matvec, b, inverse_diagonal, tol=CG_TOL, max_iter=CG_MAX_ITER):
    """``(x, iterations)``: conjugate gradients for ``A x = b`` (``A`` symmetric positive
    definite, given by ``matvec``), preconditioned by a diagonal, from ``x = 0``, until
    ``|r| <= tol |b|`` or ``max_iter`` iterations."""
    x = np.zeros_like(b)
    r = b.copy()
    z = inverse_diagonal * r
    p, rz, target = z.copy(), float(r @ z), tol * float(np.linalg.norm(b))
    for iteration in range(max_iter):
        if float(np.linalg.norm(r)) <= target:
            return x, iteration
        Ap = matvec(p)
        alpha = rz / float(p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        z = inverse_diagonal * r
        rz, rz_before = float(r @ z), rz
        p = z + (rz / rz_before) * p
    return x, max_iter

FOLD_CHUNK = 64
"""Candidates :func:`fold_sums` evaluates at a time: its (rows x candidates) arrays are
then at most 8192 x 64 doubles (4 MB) each, however many models a path runs."""


def fold_sums(loss, X, y, fold, n_folds, thetas, hessians=(), weights=None):
    """Per-fold loss, gradient and accuracy sums at ``m`` candidates, and Hessian sums of
    chosen candidates over all rows but one fold: what a regularization path with K-fold
    cross-validation needs, all its models in one pass.

    Parameters
    ----------
    loss : one of :data:`LOSSES`
    X : ndarray (n, d) (dense: the Hessians need it)
    y : ndarray (n,), already encoded (:func:`encode_labels`)
    fold : ndarray (n,) int, each row's fold in ``0 .. n_folds - 1``
    thetas : ndarray (m, d + 1), rows ``[w, b]``
    hessians : pairs ``(candidate, fold left out)``; fold -1 leaves none out
    weights : ndarray (n,) of row weights >= 0, or None

    Returns
    -------
    dict: ``fold_n`` (n_folds,) rows; ``fold_weights`` (n_folds,) their weight (row counts
    without weights); ``fold_loss`` (m, n_folds); ``fold_grad`` (m, n_folds, d + 1);
    ``fold_correct`` (m, n_folds), the weight of rows whose margin has the label's sign
    (classifiers); ``fold_hess`` (len(hessians), d + 1, d + 1). All sums over rows.
    """
    thetas = np.atleast_2d(thetas)
    m, d = thetas.shape[0], X.shape[1]
    one_hot = (fold[:, None] == np.arange(n_folds)).astype(np.float64)  # (n, K)
    sums = {"fold_n": one_hot.sum(axis=0),
            "fold_weights": one_hot.sum(axis=0) if weights is None else weights @ one_hot,
            "fold_loss": np.empty((m, n_folds)), "fold_correct": np.empty((m, n_folds)),
            "fold_grad": np.empty((m, n_folds, d + 1))}
    folds = [fold == k for k in range(n_folds)]
    fold_X = [X[rows] for rows in folds]  # each fold's rows, copied once
    for lo in range(0, m, FOLD_CHUNK):  # (rows x candidates) arrays stay O(n FOLD_CHUNK)
        chunk = slice(lo, lo + FOLD_CHUNK)
        z = X @ thetas[chunk, :d].T + thetas[chunk, d]
        right = ((z > 0) == (y > 0)[:, None]).astype(np.float64)
        value, d1, right = weighted_rows(weights, *_loss_derivatives(loss, z, y[:, None], 1)[:2],
                                         right)
        sums["fold_loss"][chunk] = value.T @ one_hot
        sums["fold_correct"][chunk] = right.T @ one_hot
        sums["fold_grad"][chunk, :, d] = d1.T @ one_hot
        for k, rows in enumerate(folds):
            sums["fold_grad"][chunk, k, :d] = (fold_X[k].T @ d1[rows]).T
    hess = np.empty((len(hessians), d + 1, d + 1))
    for h, (candidate, left_out) in enumerate(hessians):
        z = (X @ thetas[candidate, :d] + thetas[candidate, d])[:, None]
        d2 = _loss_derivatives(loss, z, y[:, None], 2)[2]
        d2 = (d2 if weights is None else d2 * weights) * (fold != left_out)
        hess[h] = _weighted_gram(X, d2)
    sums["fold_hess"] = hess
    return sums


def weighted_rows(weights, *per_row):
    """Each of ``per_row`` (arrays (n,) or (n, m), or None) times the row weights
    ``weights`` (n,); unchanged when ``weights`` is None. How any kernel honours weights:
    weigh the per-row loss and its derivatives before summing them."""
    if weights is None:
        return per_row
    return tuple(None if a is None else a * (weights if a.ndim == 1 else weights[:, None])
                 for a in per_row)


def _weighted_gram(X, s):
    """``[X 1]^T diag(s) [X 1]`` of shape (d + 1, d + 1), for weights ``s >= 0`` (n,).

    The ``X`` block is ``(sqrt(s) X)^T (sqrt(s) X)``: one symmetric rank-k product (BLAS
    syrk), half the work of a general one.
    """
    if not isinstance(X, np.ndarray):
        raise ValueError("Hessian sums need dense rows; this block is sparse")
    d = X.shape[1]
    rX = X * np.sqrt(s)[:, None]
    gram = np.empty((d + 1, d + 1))
    gram[:d, :d] = rX.T @ rX
    gram[:d, d] = gram[d, :d] = s @ X
    gram[d, d] = s.sum()
    return gram


def moments(Z):
    """Centered moments of the rows of ``Z`` (n, p): ``(n, mean (p,), scatter (p, p))``.

    ``scatter = sum_i (z_i - mean)(z_i - mean)^T``. Combine blocks with
    :func:`merge_moments`, never by summing raw ``Z^T Z``: centering per block keeps the
    digits of ill-conditioned data.
    """
    n = Z.shape[0]
    if n == 0:
        p = Z.shape[1]
        return 0, np.zeros(p), np.zeros((p, p))
    mean = Z.mean(axis=0)
    C = Z - mean
    return n, mean, C.T @ C


def weighted_moments(Z, weights):
    """:func:`moments` of the rows of ``Z`` (n, p) weighted by ``weights`` (n,) >= 0:
    ``(total weight, weighted mean (p,), sum_i w_i (z_i - mean)(z_i - mean)^T)``; merged by
    :func:`merge_moments` like counts."""
    total = float(weights.sum())
    if total == 0:
        p = Z.shape[1]
        return 0, np.zeros(p), np.zeros((p, p))
    mean = weights @ Z / total
    C = Z - mean
    return total, mean, (C * weights[:, None]).T @ C


def column_moments(X):
    """Per-column moments of ``X`` (n, p): ``(n, mean (p,), sum of squared deviations (p,))``.

    The diagonal of :func:`moments`' scatter, for when the full matrix is not needed;
    merged by the same :func:`merge_moments`.
    """
    n = X.shape[0]
    if n == 0:
        return 0, np.zeros(X.shape[1]), np.zeros(X.shape[1])
    mean = X.mean(axis=0)
    return n, mean, ((X - mean) ** 2).sum(axis=0)


def merge_moments(a, b):
    """Merge two ``(n, mean, scatter)`` triples (Chan, Golub & LeVeque 1979).

    ``scatter`` is a matrix (p, p) from :func:`moments` or its diagonal (p,) from
    :func:`column_moments`.
    """
    na, ma, Sa = a
    nb, mb, Sb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = mb - ma
    mean = ma + delta * (nb / n)
    cross = np.outer(delta, delta) if np.ndim(Sa) == 2 else delta * delta
    scatter = Sa + Sb + cross * (na * nb / n)
    return n, mean, scatter


def decision_function(X, theta):
    """Margins ``X w + b`` (n,) for one parameter vector ``theta`` (d + 1,)."""
    d = X.shape[1]
    return X @ theta[:d] + theta[d]


def classification_sums(loss, X, y_raw, theta, weights=None):
    """Evaluation sums for a binary classifier at ``theta`` (d + 1,), rows weighted by
    ``weights`` (n,) or None.

    Returns dict: ``n``, ``correct`` (rows whose sign of margin matches the label; their
    weight sum with weights),
    ``loss`` (sum of the training loss ``loss``; for ``logistic`` the log-loss), and
    ``scores_sketch``, the per-class rank sketch of the margins ``z = x.w + b`` for ROC AUC
    (:mod:`jobs.sketch`). The sketch keys on ``z`` itself, intercept included: AUC only
    depends on the order of the scores, the sketch's bins have a width relative to the
    values they hold (so an offset costs no resolution: ``5 + 1e-7 x`` resolves as well as
    ``x``), and ``z`` orders rows exactly as the model's scores (``decision_function``,
    ``predict_proba``) do, ties included.
    """
    z = decision_function(X, theta)
    positive = y_raw > 0
    value, _, _ = _loss_derivatives(loss, z[:, None], encode_labels(y_raw, loss)[:, None], 0)
    right = (z > 0) == positive
    value, right = weighted_rows(weights, value[:, 0], right)
    return {
        "n": X.shape[0],
        "correct": float(right.sum()) if weights is not None else int(np.count_nonzero(right)),
        "loss": float(value.sum()),
        "scores_sketch": score_sketch(z, positive, weights=weights),
    }


def regression_sums(X, y, theta, weights=None):
    """Evaluation sums for a regressor at ``theta`` (d + 1,), rows weighted by ``weights``
    (n,) or None.

    Returns dict: ``n``, ``sse`` (sum of squared residuals), ``sae`` (sum of absolute
    residuals) and ``y_moments`` (``moments`` of ``y``, for R^2 = 1 - sse / scatter), each
    weighted (weighted moments: total weight, weighted mean and scatter).
    """
    r = decision_function(X, theta) - y
    squared, absolute = weighted_rows(weights, r * r, np.abs(r))
    return {
        "n": X.shape[0],
        "sse": float(squared.sum()),
        "sae": float(absolute.sum()),
        "y_moments": moments(y[:, None]) if weights is None else weighted_moments(y[:, None], weights),
    }
