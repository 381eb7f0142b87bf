"""The model file: versioned JSON in scikit-learn's vocabulary, and its scikit-learn export.

Fields: ``format`` ("mrlearn-model"), ``format_version``, ``algo``, ``solver``, ``loss``,
``coef`` (d,), ``intercept``, ``classes`` ([negative, positive] for classifiers, else
null) for linear models; ``cluster_centers`` (k, d), ``inertia``, ``best_init`` and
``init_inertias`` for k-means; then ``n_features``, ``params`` (l2, tol, max_iter, ...), ``n_rows``, ``bad_rows``,
``objective``, ``n_passes`` (= ``n_iter``), ``converged``, ``stop_reason`` and
``history`` (one entry per pass). No pickle anywhere.
"""
import json

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError
from driver.inputs import describe_inputs

FORMAT = "mrlearn-model"
FORMAT_VERSION = 1


def save_model(path, model):
    """Write ``model`` (dict) to ``path`` atomically."""
    hdfs_utils.write_text(path, json.dumps(model, indent=1) + "\n")


def load_model(path):
    """Read and check a model file; MrlearnError if it is not one we can use."""
    try:
        model = json.loads(hdfs_utils.read_text(path))
    except (OSError, IOError):
        raise MrlearnError("cannot read model file %s; check --model" % path)
    except ValueError:
        raise MrlearnError("%s is not JSON; is it an mrlearn model file?" % path)
    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise MrlearnError("%s is not an mrlearn model file" % path)
    if model.get("format_version") != FORMAT_VERSION:
        raise MrlearnError("%s has model format version %s; this mrlearn reads version %d"
                           % (path, model.get("format_version"), FORMAT_VERSION))
    return model


def model_theta(model):
    """Parameters ``[w, b]`` (d + 1,) of a linear model."""
    return np.append(np.asarray(model["coef"], dtype=np.float64), model["intercept"])


def in_original_units(model, scale):
    """Model fields trained on standardized features, turned back into original units.

    ``scale``: ``{"mean": (d,), "std": (d,)}`` of the features. A linear model
    ``w'.(x - mean)/std + b'`` is ``w.x + b`` with ``w = w'/std``,
    ``b = b' - w'.(mean/std)``.
    """
    mean, std = np.asarray(scale["mean"]), np.asarray(scale["std"])
    w = np.asarray(model["coef"]) / std
    return {"coef": w.tolist(), "intercept": float(model["intercept"] - w @ mean)}


def apply_params(model):
    """What a predict or evaluate pass needs to apply ``model`` (JSON types)."""
    if model["algo"] == "kmeans":
        return {"algo": "kmeans", "task": "kmeans", "centers": model["cluster_centers"]}
    return {"algo": model["algo"], "theta": model_theta(model).tolist(),
            "classes": model["classes"],
            "task": "regression" if model["algo"] == "linear" else model["loss"]}


def inputs_for_model(model, inputs, label_col="default", header="auto"):
    """Describe ``inputs`` for applying ``model``; checks they have its number of features.

    ``label_col`` "default": column 0 for supervised models, none for k-means.
    """
    if label_col == "default":
        label_col = None if model["algo"] == "kmeans" else 0
    spec = describe_inputs(inputs, label_col, header, model.get("params", {}).get("format", "auto"),
                           model["n_features"])
    if spec.n_features != model["n_features"]:
        raise MrlearnError("the model has %d features but %s has %d%s; check --label-col"
                           % (model["n_features"], spec.files[0], spec.n_features,
                              "" if label_col is None else " besides the label column"))
    return spec


def to_sklearn(model):
    """The fitted scikit-learn estimator equivalent to ``model`` (needs scikit-learn).

    linear -> ``LinearRegression`` (l2 = 0) or ``Ridge(alpha = n * l2)``; logistic ->
    ``LogisticRegression(C = 1 / (n * l2))``; svm -> ``LinearSVC`` with the same loss;
    kmeans -> ``KMeans`` with the centers. Their ``predict`` gives the same answers as
    ``mrlearn predict``.
    """
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    algo, l2, n = model["algo"], model["params"]["l2"], model["n_rows"]
    if algo == "kmeans":
        return _to_sklearn_kmeans(model)
    coef = np.asarray(model["coef"], dtype=np.float64)
    if algo == "linear":
        est = Ridge(alpha=n * l2) if l2 > 0 else LinearRegression()
        est.coef_, est.intercept_ = coef, float(model["intercept"])
    else:
        C = 1.0 / (n * l2) if l2 > 0 else 1e12
        if algo == "logistic":
            est = LogisticRegression(C=C) if l2 > 0 else LogisticRegression(C=np.inf)
        else:
            est = LinearSVC(C=C, loss=model["loss"])
        est.coef_ = coef[None, :]
        est.intercept_ = np.array([model["intercept"]], dtype=np.float64)
        est.classes_ = np.array(model["classes"])
    est.n_features_in_ = len(coef)
    est.n_iter_ = model["n_passes"]
    return est


def _to_sklearn_kmeans(model):
    from sklearn.cluster import KMeans

    centers = np.asarray(model["cluster_centers"], dtype=np.float64)
    est = KMeans(n_clusters=len(centers), n_init=model["params"]["n_init"],
                 tol=model["params"]["tol"], random_state=model["params"]["seed"])
    est.cluster_centers_ = centers
    est.inertia_ = model["inertia"]
    est.n_iter_ = model["n_passes"]
    est.n_features_in_ = centers.shape[1]
    est._n_threads = 1
    return est
