"""cv.glmnet's two plots of a path model: the cross-validation curve and the coefficient
path (matplotlib, an optional dependency: ``pip install matplotlib``)."""
import numpy as np

from driver.errors import MrlearnError


def check_plot(has_path):
    """Refuse ``--plot`` (before any pass) without a path (``has_path`` false) or without
    matplotlib."""
    if not has_path:
        raise MrlearnError("--plot draws a regularization path: give --lambdas or --cv")
    _pyplot()


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MrlearnError("--plot needs matplotlib: pip install matplotlib")
    return plt


def plot_path(model, png):
    """Write ``png``: with cross-validation, the CV curve (mean held-out error with one
    standard error bars against log lambda, lambda_min and lambda_1se dotted, the number
    of non-zero coefficients along the top) beside the coefficient path; without, the
    coefficient path alone."""
    plt = _pyplot()
    path, cv = model["path"], model.get("cv")
    log_lambda = np.log10(path["lambdas"])
    figure, axes = plt.subplots(1, 2 if cv else 1, figsize=(12 if cv else 6, 4.5),
                                squeeze=False)
    if cv:
        ax = axes[0, 0]
        ax.errorbar(log_lambda, cv["cvm"], yerr=cv["cvsd"], fmt="o", color="tab:red",
                    ecolor="grey", markersize=4, capsize=2)
        for chosen in (cv["lambda_min"], cv["lambda_1se"]):
            ax.axvline(np.log10(chosen), linestyle=":", color="black")
        ax.set_xlabel("log10(lambda)")
        ax.set_ylabel("held-out %s (%d-fold)" % (cv["measure"], cv["folds"]))
        _nonzero_axis(ax, log_lambda, path["n_nonzero"])
    ax = axes[0, -1]
    coef = np.asarray(path["coef"])
    names = model.get("feature_names") or ["x%d" % (j + 1) for j in range(coef.shape[1])]
    for j in range(coef.shape[1]):
        ax.plot(log_lambda, coef[:, j], label=names[j] if coef.shape[1] <= 10 else None)
    if coef.shape[1] <= 10:
        ax.legend(fontsize="small")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_xlabel("log10(lambda)")
    ax.set_ylabel("coefficient")
    _nonzero_axis(ax, log_lambda, path["n_nonzero"])
    figure.suptitle("%s %s path, l1_ratio %g" % (model["algo"], "elastic-net" if model[
        "params"].get("l1_ratio") else "ridge", model["params"].get("l1_ratio", 0.0)))
    figure.tight_layout()
    figure.savefig(png, dpi=100)
    plt.close(figure)


def _nonzero_axis(ax, log_lambda, n_nonzero):
    top = ax.twiny()
    top.set_xlim(ax.get_xlim())
    every = max(1, len(log_lambda) // 8)
    top.set_xticks(log_lambda[::every])
    top.set_xticklabels([str(k) for k in n_nonzero[::every]])
    top.set_xlabel("non-zero coefficients")
