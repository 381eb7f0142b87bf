"""Statistical inference from the passes already made: the model file's ``summary``.

Linear models (``--solver normal``) take everything from the final R factor of the QR pass;
binary and multinomial logistic models (``--solver newton``) from the Hessian Newton summed
at the final point and the class counts of the first pass. With ``l2 > 0`` the covariance is that of the
penalized problem (the inverse penalized Hessian, "penalized, approximate": statsmodels
reports no such figures). Figures follow statsmodels' ``OLS``, ``Logit`` and ``MNLogit``
(multinomial: the contrasts of each class against the first, named ``x1[class]``); with
row weights, ``WLS(weights=w)`` for linear models (weights as precision weights; its
log-likelihood, AIC and BIC need ``sum log w`` and are left out) and ``GLM(Binomial,
freq_weights=w)`` for binary logistic ones (weights as frequencies: ``n`` is their total).

``summary`` fields: ``names`` (x1 .. xd, intercept), per coefficient ``coef``, ``std_err``,
``statistic`` (t or z), ``p_value``, ``ci_low``, ``ci_high`` (95 %), then ``distribution``
("t" or "normal"), ``df_resid``, ``penalized``, ``note``, and the model-level figures
(:func:`linear_figures`, :func:`logistic_figures`). A model without one holds
``{"unavailable": reason}``.
"""
import math

import numpy as np

from driver.distributions import normal_sf, t_sf, upper_quantile, f_sf
from driver.least_squares import back_substitute, ones_first, penalized_factor
from driver.model import scale_mean
from jobs.tsqr import from_pair

LEVEL = 0.95


def linear_inference(rfactor, theta, l2, rank, total=None):
    """``(figures, cov)`` of least squares from the pass's ``(n, shift, R)`` at ``theta``
    ([w, b]); ``cov`` (d + 1, d + 1) is ``sigma^2 (A^T A + n l2 P)^-1`` mapped to ``[w, b]``,
    ``sigma^2 = RSS / (n - d - 1)``. Returns ``(reason, None)`` when there is none.

    Weighted rows (``total`` their weight sum, which the ridge term scales with): ``R`` is
    the factor of the rows scaled by ``sqrt(w)``, and the same formulas are statsmodels'
    WLS (weighted RSS and TSS about the weighted mean, ``n`` the rows), without the
    likelihood figures."""
    n, shift, R = rfactor
    R, shift = from_pair(R), np.asarray(shift, dtype=np.float64)
    d = R.shape[0] - 2
    k = d + 1
    if rank < d:
        return "the design is rank-deficient (rank %d of %d features)" % (rank, d), None
    if n <= k:
        return "%d rows leave no residual degrees of freedom for %d parameters" % (n, k), None
    w, b = theta[:d], theta[d]
    residual = R @ np.concatenate([-w, [-(b - shift[d] + shift[:d] @ w), 1.0]])
    rss = float(residual @ residual)
    tss = float(np.sum(ones_first(R)[1:, d + 1] ** 2))
    inverse = back_substitute(penalized_factor(R, n if total is None else total, l2)[:k, :k],
                              np.eye(k))
    to_theta = np.eye(k)  # [w, b'] -> [w, b]: b = b' + shift_y - shift_x . w
    to_theta[d, :d] = -shift[:d]
    cov = (to_theta @ (rss / (n - k) * inverse @ inverse.T) @ to_theta.T).astype(np.float64)
    figures = linear_figures(n, d, rss, tss)
    if total is not None:
        for key in ("log_likelihood", "aic", "bic"):
            del figures[key]
    return figures, cov


def linear_figures(n, d, rss, tss):
    """statsmodels OLS' model-level figures for ``n`` rows, ``d`` features plus intercept."""
    df_resid = n - d - 1
    llf = -0.5 * n * (math.log(2 * math.pi * rss / n) + 1.0)
    fvalue = (tss - rss) / d / (rss / df_resid) if rss > 0 else math.inf
    return {"n": n, "df_model": d, "df_resid": df_resid, "rss": rss, "scale": rss / df_resid,
            "r_squared": 1.0 - rss / tss, "adj_r_squared": 1.0 - (n - 1) / df_resid * rss / tss,
            "f_statistic": fvalue, "f_p_value": f_sf(fvalue, d, df_resid) if rss > 0 else 0.0,
            "log_likelihood": llf, "aic": -2 * llf + 2 * (d + 1),
            "bic": -2 * llf + math.log(n) * (d + 1)}


def logistic_inference(n, theta, objective, H, l2, positives):
    """``(figures, cov)`` of binary logistic regression at ``theta`` ([w, b]) from the
    regularized objective and Hessian (both divided by ``n``) at that point and the
    number of positive rows; ``cov = (n H)^-1``."""
    d = len(theta) - 1
    w = np.asarray(theta[:d])
    llf = -n * (objective - 0.5 * l2 * float(w @ w))
    p = positives / n
    llnull = n * (p * math.log(p) + (1 - p) * math.log1p(-p))
    try:
        cov = np.linalg.inv(n * np.asarray(H))
    except np.linalg.LinAlgError:
        return "the Hessian at the final point is singular (separable or collinear data)", None
    return {"n": n, "df_model": d, "df_resid": n - d - 1, "log_likelihood": llf,
            "null_log_likelihood": llnull, "deviance": -2 * llf, "null_deviance": -2 * llnull,
            "pseudo_r_squared": 1.0 - llf / llnull, "aic": -2 * llf + 2 * (d + 1),
            "bic": -2 * llf + math.log(n) * (d + 1)}, cov


def multinomial_inference(n, x, objective, H, l2, counts):
    """``(figures, cov)`` of multinomial logistic regression as statsmodels' ``MNLogit``
    reports it: for the contrasts ``theta_k - theta_0`` (k = 1 .. K-1, each ``[w, b]``)
    against the first class. ``x`` (K (d + 1),) holds the K rows ``[w_k, b_k]``, ``H`` the
    regularized Hessian divided by ``n`` at ``x``, ``counts`` the rows per class. The
    log-likelihood depends on the contrasts only, so the Hessian of the contrast
    parameterization is ``n H``'s block of classes 1 .. K-1, and ``cov`` its inverse."""
    K = len(counts)
    p = len(x) // K
    W = np.asarray(x).reshape(K, p)
    llf = -n * (objective - 0.5 * l2 * float(np.sum(W[:, :-1] ** 2)))
    llnull = sum(c * math.log(c / n) for c in counts if c > 0)
    try:
        cov = np.linalg.inv(n * np.asarray(H)[p:, p:])
    except np.linalg.LinAlgError:
        return "the Hessian at the final point is singular (separable or collinear data)", None
    params = (K - 1) * p
    return {"n": n, "df_model": (K - 1) * (p - 1), "df_resid": n - params,
            "log_likelihood": llf, "null_log_likelihood": llnull, "deviance": -2 * llf,
            "null_deviance": -2 * llnull, "pseudo_r_squared": 1.0 - llf / llnull,
            "aic": -2 * llf + 2 * params, "bic": -2 * llf + math.log(n) * params}, cov


def in_original_units(cov, scale, blocks=1):
    """``cov`` of ``blocks`` stacked ``[w', b']`` fitted on standardized features turned into
    that of the model in original units (``w = w' / std``, ``b = b' - w . mean``)."""
    mean, std = scale_mean(scale), np.asarray(scale["std"])
    d = len(std)
    M = np.eye(d + 1)
    M[:d, :d] = np.diag(1.0 / std)
    M[d, :d] = -mean / std
    M = np.kron(np.eye(blocks), M)
    return M @ cov @ M.T


def summary(theta, cov, figures, df_resid, penalized, note, names):
    """The ``summary`` object: the coefficient table at ``theta`` ([w, b], original units;
    or several such blocks), named by ``names``, with covariance ``cov``; t statistics with
    ``df_resid`` degrees of freedom, else z."""
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    stat = np.asarray(theta) / se
    def tail(value):
        return normal_sf(value) if df_resid is None else t_sf(value, df_resid)

    quantile = upper_quantile(tail, (1 - LEVEL) / 2)
    table = {"names": names,
             "coef": list(map(float, theta)), "std_err": se.tolist(), "statistic": stat.tolist(),
             "p_value": [2 * tail(abs(s)) for s in stat],
             "ci_low": (theta - quantile * se).tolist(), "ci_high": (theta + quantile * se).tolist(),
             "distribution": "normal" if df_resid is None else "t", "penalized": penalized,
             "note": note}
    return dict(table, **figures)


def model_summary(config, run, solver, model, scale):
    """The ``summary`` of a trained ``model`` (coefficients already in original units), or
    ``{"unavailable": reason}``. ``run``: the training loop's state (rows, history)."""
    found = _inference(config, run, solver)
    if isinstance(found, str):
        return {"unavailable": found}
    figures, cov, df_resid = found
    features = model.get("feature_names") or ["x%d" % (j + 1)
                                              for j in range(model["n_features"])]
    theta, names = np.append(model["coef"], model["intercept"]), features + ["intercept"]
    if model.get("multiclass"):  # contrasts against the first class, as MNLogit
        rows = np.column_stack([model["coef"], model["intercept"]])
        theta = (rows[1:] - rows[0]).ravel()
        names = ["%s[%s]" % (name, c) for c in model["classes"][1:]
                 for name in features + ["intercept"]]
    if scale:
        cov = in_original_units(cov, scale, len(theta) // (len(scale["std"]) + 1))
    notes = []
    if config.weighted():
        notes.append("weighted rows: %s" % ("statsmodels WLS (precision weights), no likelihood"
                                            if config.algo == "linear" else
                                            "frequency weights (statsmodels GLM freq_weights)"))
    if config.l2 > 0:
        notes.append("penalized, approximate: covariance from the penalized Hessian "
                     "(l2 = %g)" % config.l2)
    if not model["converged"]:
        notes.append("not converged: %s" % model["stop_reason"])
    return summary(theta, cov, figures, df_resid, config.l2 > 0, "; ".join(notes) or None,
                   names)


def _inference(config, run, solver):
    """``(figures, cov in the solver's units, df_resid or None)``, or why there is none.

    Newton's state ``H`` is the Hessian summed at the accepted point, except right after a
    shorter step than the longest trial (it was summed there; the next pass evaluates the
    accepted point alone): a run that stops by ``--max-iter`` just then has no Hessian at
    its final point. (A stop on "gradient is zero" just after such a step would too; the
    gradient is then zero to 1e-14, a fit that has converged in any case.)
    """
    total = run["history"][-1].get("weight_sum") if run["history"] else None
    if config.lambdas is not None:
        return "a path of penalties: no standard errors for a model chosen along it"
    if config.l1_ratio:
        return "the L1 term has no curvature at zero: no standard errors for the elastic net"
    if config.solver == "normal":
        figures, cov = linear_inference(solver.rfactor, solver.theta, config.l2, solver.rank,
                                        total)
        return figures if cov is None else (figures, cov, figures["df_resid"])
    if config.algo == "linear":
        return "the %s solver keeps no R factor; train with --solver normal" % config.solver
    if config.algo != "logistic":
        return "%s minimizes a loss that is not a likelihood" % config.algo
    if solver.name != "newton":
        return "the %s solver sums no Hessian; train with --solver newton" % solver.name
    if not solver.done and list(solver.steps) == [0.0]:
        return ("the run stopped (--max-iter) right after a shortened Newton step: the "
                "Hessian at the final point needs one more pass; train with --max-iter %d"
                % (len(run["history"]) + 1))
    if "classes" in solver.options:
        counts = run["history"][0].get("class_counts")
        if counts is None:
            return "the first pass recorded no class counts"
        figures, cov = multinomial_inference(run["n_rows"] if total is None else total,
                                             solver.x, solver.f, solver.H, config.l2, counts)
        return figures if cov is None else (figures, cov, None)
    positives = run["history"][0].get("positives")
    if positives is None:
        return "the first pass was not at theta = 0, so the class counts are unknown"
    figures, cov = logistic_inference(run["n_rows"] if total is None else total, solver.x,
                                      solver.f, solver.H, config.l2, positives)
    return figures if cov is None else (figures, cov, None)


def null_model_counts(loss, thetas, record):
    """History fields of a pass that tell the intercept-only model: at ``theta = 0`` the
    logistic gradient sum of the intercept is ``n / 2 - positives`` (with weights: their
    total and the positives' weight). {} for other passes."""
    if loss != "logistic" or thetas is None or np.any(np.asarray(thetas)) or "grad" not in record:
        return {}
    if "weight_sum" in record:
        return {"positives": record["weight_sum"] / 2.0 - record["grad"][0][-1]}
    return {"positives": int(round(record["n"] / 2.0 - record["grad"][0][-1]))}
