"""``mrlearn summary MODEL.json``: the model file's ``summary`` as a statsmodels-like table."""

FIGURES = (  # (field, label), in the order printed; absent fields are skipped
    ("n", "No. observations"), ("df_model", "Df model"), ("df_resid", "Df residuals"),
    ("r_squared", "R-squared"), ("adj_r_squared", "Adj. R-squared"),
    ("f_statistic", "F-statistic"), ("f_p_value", "Prob (F-statistic)"),
    ("scale", "Residual variance"), ("pseudo_r_squared", "Pseudo R-squared"),
    ("deviance", "Deviance"), ("null_deviance", "Null deviance"),
    ("log_likelihood", "Log-likelihood"), ("null_log_likelihood", "LL-null"),
    ("aic", "AIC"), ("bic", "BIC"))


def format_summary(model, path):
    """The table (str) for ``model`` read from ``path``, or one line saying why it has none."""
    summary = model.get("summary")
    if summary is None:
        return "%s: no summary: %s models carry no standard errors" % (
            path, "k-means" if model["algo"] == "kmeans" else "models trained before summaries")
    if "unavailable" in summary:
        return "%s: no summary: %s" % (path, summary["unavailable"])
    title = {"linear": "Least squares (QR) regression results",
             "logistic": "Logistic regression (Newton) results"}[model["algo"]]
    if model.get("multiclass"):
        title = "Multinomial logistic regression (Newton) results: each class against %s" % (
            model["classes"][0],)
    lines = [title, "=" * 84]
    figures = [(label, summary[key]) for key, label in FIGURES if key in summary]
    for i in range(0, len(figures), 2):
        lines.append("   ".join("%-20s %15s" % (label, _number(value))
                                for label, value in figures[i:i + 2]))
    lines.append("-" * 84)
    stat = "t" if summary["distribution"] == "t" else "z"
    width = max([16] + [len(name) for name in summary["names"]])
    lines.append("%-*s %12s %12s %9s %9s %10s %10s" % (
        width, "", "coef", "std err", stat, "P>|%s|" % stat, "[0.025", "0.975]"))
    for j, name in enumerate(summary["names"]):
        lines.append("%-*s %12.4g %12.4g %9.3f %9.3f %10.4g %10.4g" % (
            width, name, summary["coef"][j], summary["std_err"][j], summary["statistic"][j],
            summary["p_value"][j], summary["ci_low"][j], summary["ci_high"][j]))
    lines.append("=" * 84)
    if summary.get("note"):
        lines.append("Note: %s" % summary["note"])
    return "\n".join(lines)


def _number(value):
    return value if isinstance(value, int) else "%.6g" % value
