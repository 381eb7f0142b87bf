"""The model file: versioned JSON in scikit-learn's vocabulary, and its scikit-learn export.

Fields: ``format`` ("mrlearn-model"), ``format_version``, ``algo``, ``solver``, ``loss``,
``coef`` (d,), ``intercept``, ``classes`` ([negative, positive] for classifiers, else
null) for linear models; for multiclass models (logistic and svm) ``multiclass``
(``multinomial`` or ``ovr``), ``classes`` (K sorted distinct labels), ``coef`` (K, d) and
``intercept`` (K,), row k for class k (one-vs-rest models add ``objectives``, per class);
``cluster_centers`` (k, d), ``inertia``, ``best_init`` and
``init_inertias`` for k-means; then ``n_features``, ``params`` (l2, tol, max_iter, ...), ``n_rows``, ``bad_rows``,
``objective``, ``n_passes`` (= ``n_iter``), ``converged``, ``stop_reason`` and
``history`` (one entry per pass), and for supervised models ``summary`` (standard errors,
tests and intervals per coefficient, model-level figures, or ``{"unavailable": reason}``;
see :mod:`driver.inference`). Weighted runs add ``weight_sum`` (the rows' total weight, the
objective's denominator; ``params`` hold ``weight_col`` / ``class_weight``) and, with class
weights, ``class_weights`` (label key -> resolved weight). No pickle anywhere.

Large arrays (any list of at least :data:`ARRAY_MIN_SIZE` numbers: the ``coef`` of a
wide model, its ``cluster_centers``, a path's ``coef``) are stored beside the JSON in an
array file, ``m.json`` -> ``m.arrays.npz`` (:func:`arrays_path`), written by ``np.savez``
and read only by ``np.load(allow_pickle=False)``; such a model has ``format_version`` 2,
its JSON holds ``{"array": name, "shape": [...], "dtype": "float64"}`` in place of each
array and ``arrays``: ``{"file": "m.arrays.npz", "bytes": N, "sha256": hex}`` (the name
relative to the JSON's directory). :func:`load_model` refuses a model whose array file is
missing, of another size or hash, or not what its references say, and returns the model
as trained (version 1, the arrays as numpy arrays). Every other model is plain JSON,
version 1.
"""
import hashlib
import io
import json
import zipfile
from functools import partial

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError
from jobs.table import hash_values
from driver.inputs import describe_table_inputs, describe_inputs

FORMAT = "mrlearn-model"
FORMAT_VERSION = 1
ARRAYS_FORMAT_VERSION = 2
"""The version of a model whose large arrays are in its array file (:func:`arrays_path`)."""
ARRAY_MIN_SIZE = 4096
"""Arrays of at least this many numbers are stored in the model's array file, not its JSON
(at ~20 bytes a number in JSON, 8 in the array file, and far faster to write and read)."""


def arrays_path(path):
    """Where :func:`save_model` writes the array file of the model file ``path``:
    ``m.json`` -> ``m.arrays.npz`` (``m`` -> ``m.arrays.npz``)."""
    return (path[:-len(".json")] if path.endswith(".json") else path) + ".arrays.npz"


def save_model(path, model):
    """Write ``model`` (dict) to ``path``, replacing an old file whole: never deleted first
    (on HDFS a crash can leave the new model as ``<path>._COPYING_``, see
    :func:`hdfs_utils.write_bytes`). Arrays of :data:`ARRAY_MIN_SIZE` numbers or more go
    to :func:`arrays_path` first, then the JSON naming them (size and SHA-256): a crash in
    between leaves the old JSON, which refuses the new array file, never a JSON naming a
    missing or older array file."""
    doc, arrays = _split_arrays(model)
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getvalue()
        sidecar = arrays_path(path)
        hdfs_utils.write_bytes(sidecar, data)
        doc.update(format_version=ARRAYS_FORMAT_VERSION, arrays={
            "file": sidecar.rsplit("/", 1)[-1], "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()})
    hdfs_utils.write_text(path, json.dumps(doc, indent=1) + "\n")


def _split_arrays(model):
    """``(doc, arrays)``: ``model`` with each array of :data:`ARRAY_MIN_SIZE` numbers or
    more replaced by a reference ``{"array": name, "shape", "dtype"}`` (name: its keys
    joined by ``/``), and ``{name: array}``. Small numpy arrays become lists."""
    arrays = {}

    def split(value, keys):
        array = _numeric_array(value)
        if array is not None and array.size >= ARRAY_MIN_SIZE:
            name = "/".join(keys)
            if name in arrays:
                name += "#%d" % len(arrays)
            arrays[name] = array
            return {"array": name, "shape": list(array.shape), "dtype": array.dtype.name}
        if isinstance(value, dict):
            return {k: split(v, keys + (str(k),)) for k, v in value.items()}
        if isinstance(value, (list, tuple, np.ndarray)):
            return [split(v, keys + (str(i),)) for i, v in enumerate(value)]
        return value.item() if isinstance(value, np.generic) else value

    return split(model, ()), arrays


def _numeric_array(value):
    """``value`` (a list, nested lists or a numpy array of numbers) as a float64 or int64
    array, or None when it is not one (empty, ragged, holding text, bools or None)."""
    if isinstance(value, list):
        if not value or isinstance(value[0], (dict, str, bool)) or value[0] is None:
            return None
        try:
            value = np.asarray(value)
        except ValueError:  # ragged
            return None
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fi":
        return None
    return value.astype(np.float64 if value.dtype.kind == "f" else np.int64, copy=False)


def load_model(path):
    """Read and check a model file (and its array file); MrlearnError if it is not one we
    can use."""
    try:
        model = json.loads(hdfs_utils.read_text(path))
    except (OSError, IOError):
        raise MrlearnError("cannot read model file %s; check --model" % path)
    except ValueError:
        raise MrlearnError("%s is not JSON; is it an mrlearn model file?" % path)
    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise MrlearnError("%s is not an mrlearn model file" % path)
    if model.get("format_version") == ARRAYS_FORMAT_VERSION:
        model = _with_arrays(path, model)
    if model.get("format_version") != FORMAT_VERSION:
        raise MrlearnError("%s has model format version %s; this mrlearn reads versions %d "
                           "and %d" % (path, model.get("format_version"), FORMAT_VERSION,
                                       ARRAYS_FORMAT_VERSION))
    problem = model_problem(model)
    if problem:
        raise MrlearnError("model file %s is damaged: %s; train it again or restore it"
                           % (path, problem))
    return model


def _with_arrays(path, model):
    """``model`` (version 2) as trained: its references replaced by the arrays of its
    array file, checked against the JSON's size, hash, shapes and dtypes."""
    record = model.pop("arrays", None)
    try:
        name, size, digest = record["file"], record["bytes"], record["sha256"]
        assert isinstance(name, str) and "/" not in name and name not in ("", ".", "..")
    except (TypeError, KeyError, AssertionError):
        raise MrlearnError("model file %s is damaged: format version 2 without a valid "
                           "\"arrays\" record; train it again or restore it" % path)
    sidecar = path[:path.rfind("/") + 1] + name
    fix = "restore the %s written with %s beside it, or train the model again" % (name, path)
    try:
        data = hdfs_utils.read_bytes(sidecar)
    except FileNotFoundError:
        raise MrlearnError("array file %s of model %s is missing; %s" % (sidecar, path, fix))
    except (OSError, IOError) as e:
        raise MrlearnError("cannot read array file %s of model %s (%s); %s"
                           % (sidecar, path, e, fix))
    if len(data) != size:
        raise MrlearnError("array file %s has %d bytes, model %s expects %s (truncated, or "
                           "another model's); %s" % (sidecar, len(data), path, size, fix))
    if hashlib.sha256(data).hexdigest() != digest:
        raise MrlearnError("array file %s is not the one written with model %s (its SHA-256 "
                           "differs: another model's?); %s" % (sidecar, path, fix))
    try:
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(arrays, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with arrays:
            return _resolved(model, arrays)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "pickle" in why:  # numpy's advice to load it unsafely is not ours
            why = "it holds pickled objects, which mrlearn never loads"
        raise MrlearnError("array file %s of model %s is unusable: %s; %s"
                           % (sidecar, path, why, fix))


def _resolved(model, arrays):
    """``model`` with each reference made by :func:`_split_arrays` replaced by its array
    from ``arrays`` (an open NpzFile): ValueError if one is absent or not as referenced."""
    def resolve(value):
        if isinstance(value, dict) and set(value) == {"array", "shape", "dtype"}:
            if value["array"] not in arrays.files:
                raise ValueError("it holds no array %r" % (value["array"],))
            array = arrays[value["array"]]  # ValueError for an object array (pickle)
            if not isinstance(array, np.ndarray) or array.dtype.name not in (
                    "float64", "int64") or array.dtype.name != value["dtype"] or list(
                    array.shape) != value["shape"]:
                raise ValueError("%s is %s, not %s %s as the model says" % (
                    value["array"], "%s %s" % (array.dtype, list(array.shape)) if isinstance(
                        array, np.ndarray) else "not a .npy array", value["dtype"],
                    value["shape"]))
            return array
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return dict(resolve(model), format_version=FORMAT_VERSION)


LOSSES = {"linear": ("squared",), "logistic": ("logistic",),
          "svm": ("hinge", "squared_hinge"), "kmeans": (None,)}
"""The losses each algo's model may have."""


def _numbers(value, shape):
    """True when ``value`` is a nested list of finite numbers (not bools) of ``shape``, or
    a numpy array of them (from the model's array file)."""
    if isinstance(value, np.ndarray):
        return (value.shape == tuple(shape) and value.dtype.kind in "fi"
                and bool(np.isfinite(value).all()))
    if not shape:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and np.isfinite(value))
    return (isinstance(value, list) and len(value) == shape[0]
            and all(_numbers(v, shape[1:]) for v in value))


def model_problem(model):
    """What makes ``model`` (a dict read from JSON) unusable, or None if nothing does."""
    algo = model.get("algo")
    if algo not in LOSSES:
        return "unknown algo %r (expected one of %s)" % (algo, ", ".join(LOSSES))
    if model.get("loss") not in LOSSES[algo]:
        return "unknown loss %r for %s" % (model.get("loss"), algo)
    d = model.get("n_features")
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        return "n_features is %r, not a positive integer" % (d,)
    if algo == "kmeans":
        centers = model.get("cluster_centers")
        k = len(centers) if isinstance(centers, (list, np.ndarray)) else 0
        if not k or not _numbers(centers, (k, d)):
            return "cluster_centers must be a non-empty list of rows of %d finite numbers" % d
        return None
    if "table" in model:
        problem = _table_problem(model, d)
        if problem:
            return problem
    if "multiclass" in model:
        return _multiclass_problem(model, d)
    if not _numbers(model.get("coef"), (d,)):
        coef = model.get("coef")
        return "coef must be %d finite numbers (n_features), found %s" % (
            d, "%d values" % len(coef) if isinstance(coef, (list, np.ndarray))
            else repr(coef)[:40])
    if not _numbers(model.get("intercept"), ()):
        return "intercept must be a finite number, found %r" % (model.get("intercept"),)
    classes = model.get("classes")
    if algo == "linear":
        return None if classes is None else "a linear model has classes null, not %r" % (classes,)
    if class_values(model) not in ([0, 1], [-1, 1]):
        return "classes must be [0, 1] or [-1, 1] for %s, found %r" % (algo, classes)
    return None


def _table_problem(model, d):
    """What is wrong with a table model's encoding and text classes, or None."""
    table = model["table"]
    try:
        widths = [1 + bool(c.get("indicator")) if c.get("type") == "numeric"
                  else 0 if c.get("type") == "hashed"
                  else len(c["levels"]) - bool(c["drop_first"])
                  for c in table["columns"] if c["role"] == "feature"]
        hashed = 1 << table["hash_bits"] if "hash_bits" in table else 0
        ok = sum(widths) + hashed == d == table["n_features"] == len(table["feature_names"])
        label = [c for c in table["columns"] if c["role"] == "label"]
    except (KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        return "its table encoding does not describe %d features" % d
    classes = model.get("classes")
    if label and label[0].get("type") == "categorical" and classes != label[0]["levels"]:
        return "classes %s are not the levels of its label column" % repr(classes)[:40]
    return None


def _multiclass_problem(model, d):
    if model["algo"] not in ("logistic", "svm") or model["multiclass"] not in (
            "multinomial", "ovr") or (model["multiclass"] == "multinomial"
                                      and model["algo"] != "logistic"):
        return "multiclass %r does not apply to %s" % (model["multiclass"], model["algo"])
    classes = class_values(model)
    K = len(classes) if isinstance(classes, list) else 0
    if K < 2 or not _numbers(classes, (K,)) or sorted(set(classes)) != classes:
        return "classes must be at least two distinct numbers in increasing order, found %s" % (
            repr(classes)[:40],)
    if not _numbers(model.get("coef"), (K, d)):
        return "coef must be %d rows (classes) of %d finite numbers (n_features)" % (K, d)
    if not _numbers(model.get("intercept"), (K,)):
        return "intercept must be %d finite numbers (one per class)" % K
    return None


def model_theta(model):
    """Parameters ``[w, b]`` (d + 1,) of a linear model; (K, d + 1) of a multiclass one."""
    coef = np.asarray(model["coef"], dtype=np.float64)
    if coef.ndim == 2:
        return np.column_stack([coef, model["intercept"]])
    return np.append(coef, model["intercept"])


def in_original_units(model, scale):
    """Model fields trained on standardized features, turned back into original units.

    ``scale``: ``{"mean": (d,), "std": (d,)}`` of the features, or ``{"std": (d,)}`` (features
    divided, not centered: :func:`scale_mean` is 0). A linear model
    ``w'.(x - mean)/std + b'`` is ``w.x + b`` with ``w = w'/std``,
    ``b = b' - w'.(mean/std)``.
    """
    mean, std = scale_mean(scale), np.asarray(scale["std"])
    w = np.asarray(model["coef"]) / std
    b = np.asarray(model["intercept"]) - w @ mean
    return {"coef": w.tolist(), "intercept": b.tolist() if b.ndim else float(b)}


def scale_mean(scale):
    """The centers (d,) of a feature ``scale``: its ``mean``, or zeros for a scale that
    only divides (libsvm input, :mod:`driver.scaling`)."""
    std = np.asarray(scale["std"], dtype=np.float64)
    return np.asarray(scale.get("mean", np.zeros_like(std)), dtype=np.float64)


def apply_params(model):
    """What a predict or evaluate pass needs to apply ``model`` (JSON types)."""
    if model["algo"] == "kmeans":
        return {"algo": "kmeans", "task": "kmeans",
                "centers": np.asarray(model["cluster_centers"], dtype=np.float64).tolist()}
    params = {"algo": model["algo"], "theta": model_theta(model).tolist(),
              "classes": class_values(model),
              "task": "regression" if model["algo"] == "linear" else model["loss"]}
    if "multiclass" in model:
        params["multiclass"] = model["multiclass"]
    if params["classes"] != model["classes"]:
        params["class_names"] = model["classes"]
    return params


def class_values(model):
    """The label values of the model's classes as the passes see them: the classes
    themselves, or for text labels (a table's categorical label) their indices."""
    classes = model["classes"]
    if classes and any(isinstance(c, str) for c in classes):
        return list(range(len(classes)))
    return classes


def inputs_for_model(model, inputs, label_col="default", header="auto", weight_col=None):
    """Describe ``inputs`` for applying ``model``; checks they have its number of features.

    ``label_col`` "default": none for k-means; for supervised models column 0, unless the
    rows have exactly the model's features (then there is no label column). None: no label.
    """
    if "table" in model:
        return describe_table_inputs(inputs, model["table"], header, weight_col)
    default = label_col == "default"
    if default:
        label_col = None if model["algo"] == "kmeans" else 0
    params = model.get("params", {})
    hashed = params.get("hash_features")
    spec = describe_inputs(inputs, label_col, header, params.get("format", "auto"),
                           None if hashed else model["n_features"], weight_col,
                           hash_bits=hashed, hashing="the model hashes libsvm features "
                           "(trained with --hash-features %s)" % hashed)
    if (default and weight_col is None and spec.format == "csv"
            and spec.n_columns == model["n_features"]):
        spec.label_col = None
    if spec.n_features != model["n_features"]:
        raise MrlearnError("the model has %d features but %s has %d%s; check --label-col"
                           % (model["n_features"], spec.files[0], spec.n_features,
                              "" if spec.label_col is None else " besides the label column"))
    return spec


def to_sklearn(model):
    """The fitted scikit-learn estimator equivalent to ``model`` (needs scikit-learn); for a
    model of a table (:mod:`driver.table`), a ``Pipeline`` of its encoding (a
    ``ColumnTransformer``: ``SimpleImputer(strategy='mean')`` per numeric column,
    (with ``add_indicator`` for ``--missing-indicator``),
    ``OneHotEncoder(categories=levels, handle_unknown='ignore')`` per text column, in the
    model's feature order) and the estimator, to apply to ``pandas.read_csv`` of the raw
    table: the same predictions as ``mrlearn predict``. (A column made categorical with
    ``--categorical`` but read by pandas as numbers needs ``astype(str)`` first.)
    """
    est = _estimator(model)
    return _table_pipeline(model["table"], est) if "table" in model else est


def _table_pipeline(table, est):
    """``Pipeline([("encode", ColumnTransformer), ("model", est)])`` for ``table``, fitted
    on a few rows made from the encoding itself (the means and the levels)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    features = sorted((c for c in table["columns"] if c["role"] == "feature"),
                      key=lambda c: c["offset"])
    rows = max([len(c.get("levels", ())) for c in features] + [2])
    steps, frame = [], {}
    hashed = [c["name"] for c in features if c["type"] == "hashed"]
    for c in features:
        if c["type"] == "hashed":
            frame[c["name"]] = ["x"] * rows
        elif c["type"] == "numeric":
            steps.append((c["name"], SimpleImputer(strategy="mean",
                                                   add_indicator=bool(c.get("indicator"))),
                          [c["name"]]))
            frame[c["name"]] = [c["mean"]] + [np.nan] * (rows - 1)  # the mean, exactly
        else:
            levels = [np.nan if v is None else v for v in c["levels"]]
            steps.append((c["name"], OneHotEncoder(
                categories=[levels], drop="first" if c["drop_first"] else None,
                handle_unknown="ignore", sparse_output=False), [c["name"]]))
            frame[c["name"]] = (levels * rows)[:rows]
    if hashed:
        steps.append(("hashed", FunctionTransformer(
            partial(_hash_frame, bits=table["hash_bits"]), validate=False), hashed))
    encode = ColumnTransformer(steps).fit(pd.DataFrame(frame))
    return Pipeline([("encode", encode), ("model", est)])


def _hash_frame(frame, bits):
    """The hashed columns of a DataFrame ``frame`` as :func:`jobs.table.hash_values` encodes
    them: (n, 2^bits), NaN the missing value."""
    out = np.zeros((len(frame), 1 << bits))
    for name in frame.columns:
        missing = frame[name].isna().to_numpy()
        values = frame[name].astype(str).to_numpy().astype(str)
        index, sign = hash_values(name, values, missing, bits)
        np.add.at(out, (np.arange(len(frame)), index), sign)
    return out


def _estimator(model):
    """The scikit-learn estimator of ``model``'s coefficients (see :func:`to_sklearn`).

    ``n`` is the rows' total weight (``weight_sum``) for a weighted model.
    linear -> ``LinearRegression`` (l2 = 0) or ``Ridge(alpha = n * l2)``; logistic ->
    ``LogisticRegression(C = 1 / (n * l2))``; svm -> ``LinearSVC`` with the same loss;
    kmeans -> ``KMeans`` with the centers. Their ``predict`` gives the same answers as
    ``mrlearn predict``. Multiclass: multinomial -> ``LogisticRegression`` with ``coef_``
    (K, d) (two classes: the one row ``w_1 - w_0``, the same probabilities); one-vs-rest
    svm -> ``LinearSVC`` with K rows (scikit-learn's own one-vs-rest; two classes: row 1,
    whose problem is row 0's negated); one-vs-rest logistic -> ``OneVsRestClassifier``
    of K binary ``LogisticRegression``. Same ``predict_proba`` / ``decision_function``.
    """
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.svm import LinearSVC

    algo, l2, n = model["algo"], model["params"]["l2"], model.get("weight_sum", model["n_rows"])
    if algo == "kmeans":
        return _to_sklearn_kmeans(model)
    if "multiclass" in model:
        return _to_sklearn_multiclass(model, 1.0 / (n * l2) if l2 > 0 else np.inf)
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


def _to_sklearn_multiclass(model, C):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.svm import LinearSVC

    coef = np.asarray(model["coef"], dtype=np.float64)
    intercept = np.asarray(model["intercept"], dtype=np.float64)
    classes = np.array(model["classes"])
    if model["multiclass"] == "ovr" and model["algo"] == "logistic":
        est = OneVsRestClassifier(LogisticRegression(C=C))
        est.estimators_ = [_fitted(LogisticRegression(C=C), w[None, :], [b], [0, 1])
                           for w, b in zip(coef, intercept)]
        est.label_binarizer_ = LabelBinarizer(sparse_output=True).fit(classes)
        est.n_features_in_ = coef.shape[1]
        return est
    if len(classes) == 2:  # scikit-learn's binary form: one row
        coef, intercept = ((coef[1:] - coef[:1], intercept[1:] - intercept[:1])
                           if model["multiclass"] == "multinomial" else (coef[1:], intercept[1:]))
    est = (LogisticRegression(C=C) if model["algo"] == "logistic"
           else LinearSVC(C=min(C, 1e12), loss=model["loss"]))
    est = _fitted(est, coef, intercept, classes)
    est.n_iter_ = model["n_passes"]
    return est


def _fitted(est, coef, intercept, classes):
    est.coef_, est.intercept_ = np.asarray(coef), np.asarray(intercept, dtype=np.float64)
    est.classes_, est.n_features_in_ = np.asarray(classes), est.coef_.shape[1]
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
