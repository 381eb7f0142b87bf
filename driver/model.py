"""The model file: versioned JSON in scikit-learn's vocabulary, and its scikit-learn export.

Fields: ``format`` ("mrlearn-model"), ``format_version``, ``algo``, ``solver``, ``loss``,
``coef`` (d,), ``intercept``, ``classes`` ([negative, positive] for classifiers, else
null), ``n_features``, ``params`` (l2, tol, max_iter, ...), ``n_rows``, ``bad_rows``,
``objective``, ``n_passes`` (= ``n_iter``), ``converged``, ``stop_reason`` and
``history`` (one entry per pass). No pickle anywhere.
"""
import json

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError

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


def to_sklearn(model):
    """The fitted scikit-learn estimator equivalent to ``model`` (needs scikit-learn).

    linear -> ``LinearRegression`` (l2 = 0) or ``Ridge(alpha = n * l2)``; logistic ->
    ``LogisticRegression(C = 1 / (n * l2))``; svm -> ``LinearSVC`` with the same loss.
    Their ``predict`` gives the same answers as ``mrlearn predict``.
    """
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    algo, l2, n = model["algo"], model["params"]["l2"], model["n_rows"]
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
