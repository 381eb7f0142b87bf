"""``mrlearn evaluate``: one pass of metric sums, turned into metrics here.

Regression: RMSE, MAE, R^2. Classifiers: accuracy, ROC AUC, and the mean training loss
(``log_loss`` for logistic, ``hinge``/``squared_hinge`` for svm). Multiclass models:
accuracy, macro F1, ``log_loss`` (logistic), the confusion matrix (rows: true class,
columns: predicted, in class order) and the one-vs-rest ROC AUC (macro average over the
classes of the AUC of each class's score against the rest, scikit-learn's
``roc_auc_score(multi_class="ovr")``), with the per-class AUCs. K-means: inertia,
cluster sizes and, with a label column, the adjusted Rand index. With ``--weight-col``
every mean, count and the AUC's pairs are weighted (scikit-learn's ``sample_weight``).
"""
import math

import numpy as np

from driver.errors import MrlearnError
from driver.inputs import DEFAULT_MAX_BAD_FRACTION, check_bad_rows
from driver.model import apply_params, class_values, inputs_for_model
from driver.passes import run_pass
from driver.solvers import total_weight
from jobs.clustering import adjusted_rand_index
from jobs.evaluate_pass import MREvaluatePass
from jobs.sketch import auc_from_sketch


def evaluate(model, inputs, runner, label_col="default", header="auto", skip_bad_rows=False,
             max_bad_fraction=DEFAULT_MAX_BAD_FRACTION, weight_col=None):
    """Metrics (dict) of ``model`` on ``inputs``, from one pass; with ``weight_col`` (a
    column of row weights) weighted as scikit-learn's metrics with ``sample_weight``."""
    spec = inputs_for_model(model, inputs, label_col, header, weight_col)
    if spec.label_col is None and model["algo"] != "kmeans":
        raise MrlearnError("%s has no label column (its rows hold just the model's %d "
                           "features); evaluate needs labelled rows: give --label-col"
                           % (spec.files[0], model["n_features"]))
    params = dict(spec.params(), **apply_params(model), **_label_check(model))
    record = run_pass(MREvaluatePass, params, spec.files, runner)
    check_bad_rows(record, skip_bad_rows, max_bad_fraction)
    if record["n"] == 0:
        raise MrlearnError("no usable rows in %s" % ", ".join(inputs))
    metrics = metrics_from_record(model, record)
    metrics.update(n_rows=record["n"], bad_rows=record["bad_rows"])
    return metrics


def _label_check(model):
    """Pass parameters that make a row labelled with no class of the model a bad row."""
    if model["algo"] in ("linear", "kmeans"):
        return {}
    classes = class_values(model)
    return {"label_values": classes, "label_rule": "not a class of this model (%s)"
            % ", ".join("%g" % c for c in classes)}


def metrics_from_record(model, record):
    n = total_weight(record)
    if model["algo"] == "kmeans":
        sizes = [int(c) if float(c).is_integer() else c for c in record["sizes"]]  # weighted
        metrics = {"inertia": record["inertia"], "cluster_sizes": sizes}
        if "contingency" in record:
            metrics["adjusted_rand_index"] = adjusted_rand_index(record["contingency"])
        return metrics
    if model["algo"] == "linear":
        y_scatter = np.asarray(record["y_moments"][2]).item()
        return {"rmse": math.sqrt(record["sse"] / n), "mae": record["sae"] / n,
                "r2": 1.0 - record["sse"] / y_scatter if y_scatter > 0 else float("nan")}
    if "multiclass" in model:
        return _multiclass_metrics(model, record)
    loss_name = "log_loss" if model["loss"] == "logistic" else model["loss"]
    return {"accuracy": record["correct"] / n, loss_name: record["loss"] / n,
            "roc_auc": auc_from_sketch(record["scores_sketch"])}


def _multiclass_metrics(model, record):
    confusion = np.asarray(record["confusion"])  # counts, or weight totals
    true, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(true + predicted > 0, 2.0 * np.diag(confusion) / (true + predicted), 0.0)
    aucs = [auc_from_sketch(s) for s in record["class_sketches"]]
    n = total_weight(record)
    metrics = {"accuracy": record["correct"] / n, "macro_f1": float(f1.mean())}
    if "loss" in record:
        metrics["log_loss"] = record["loss"] / n
    metrics.update(roc_auc=float(np.mean(aucs)), roc_auc_per_class=aucs,
                   confusion_matrix=confusion.tolist())
    return metrics
