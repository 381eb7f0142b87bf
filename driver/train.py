"""The training loop: one pass per iteration, runner-agnostic, checkpointed after each pass.

``train`` runs passes until the solver stops or ``max_iter`` passes are spent; after every
pass it appends to the history and writes the checkpoint atomically, so ``resume``
continues from the last finished pass and ends with the same model as an uninterrupted
run.
"""
import json
import math
import time

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError
from driver.inputs import (DEFAULT_MAX_BAD_FRACTION, check_bad_rows, describe_inputs,
                           prepared_stats)
from driver.inference import model_summary, null_model_counts
from driver.model import FORMAT, FORMAT_VERSION, in_original_units
from driver.kmeans import DEFAULT_N_INIT, INITS, KMeansSolver, init_passes
from driver.multiclass import (ELASTIC_NET, KINDS, OneVsRest, check_classes, multiclass_kind,
                               new_multiclass_solver, solver_method, start_multiclass,
                               class_counts)
from driver.parse_once import ParseOnce
from driver.passes import run_pass
from driver.scaling import column_scale, in_scaled_units, measured_by, statistics_params
from driver.path import PathSolver
from driver.table import (TableOptions, build_table, roles, schema_table, string_classes,
                          with_references)
from jobs.schema_pass import MRSchemaPass
from jobs.multiclass import label_key
from jobs.objective_pass import MRObjectivePass
from driver.sgd import MixingSolver, SGDSolver
from driver.solvers import SOLVERS, restore_solver
from jobs.parsing import DENSE_MAX_FEATURES, is_number
from jobs.records import MAX_LABELS
from jobs.sgd import SCHEDULES

ALL_SOLVERS = dict(SOLVERS, lloyd=KMeansSolver, sgd=SGDSolver, mixing=MixingSolver,
                   ovr=OneVsRest, path=PathSolver)
STOCHASTIC_OPTIONS = ("batch_fraction", "schedule", "eta0", "power_t", "average",
                      "local_epochs", "batch_size")

ALGOS = {
    # algo: (default solver, solvers, loss per solver)
    "linear": ("normal", ("normal", "newton", "lbfgs", "giant", "gd", "sgd", "mixing"), {}),
    "logistic": ("newton", ("newton", "lbfgs", "giant", "gd", "sgd", "mixing"), {}),
    "svm": ("newton", ("newton", "lbfgs", "giant", "gd", "sgd", "mixing"),
            {"gd": "hinge", "sgd": "hinge", "mixing": "hinge"}),
    "kmeans": ("lloyd", ("lloyd",), {}),
}
DEFAULT_LOSS = {"linear": "squared", "logistic": "logistic", "svm": "squared_hinge",
                "kmeans": None}
DEFAULT_TOL = {"lloyd": 1e-4, "newton": 1e-6}  # per solver; others 1e-8
CHECKPOINT_FILE = "checkpoint.json"
CHECKPOINT_FORMAT = "mrlearn-checkpoint"
CHECKPOINT_VERSION = 4  # 2: with the input's fingerprint; 3: Newton's state holds f0;
# 4: the run's feature scale (``scale``: --standardize), so that --resume keeps it
RESUMABLE_VERSIONS = (3, CHECKPOINT_VERSION)
"""Checkpoint versions --resume continues (version 3 had no scale: None, measured anew)."""


class TrainConfig:
    """What defines a training run (everything but where it runs and how long).

    ``label_col`` None means no label column (k-means); supervised algos default to 0.
    ``multiclass``: ``auto`` (more than two classes: multinomial for logistic, one-vs-rest
    for svm), ``multinomial`` or ``ovr`` (even for two classes).
    """

    FIELDS = ("algo", "solver", "loss", "l2", "tol", "max_iter", "step_size", "inputs",
              "label_col", "header", "skip_bad_rows", "max_bad_fraction", "standardize",
              "format", "n_features", "k", "init", "n_init", "seed") + STOCHASTIC_OPTIONS
    OPTIONAL_FIELDS = {"multiclass": "auto", "weight_col": None, "class_weight": None,
                       "table": {}, "l1_ratio": 0.0, "lambdas": None, "cv": None,
                       "hash_features": None}
    """Fields written (to checkpoints and the model's params) only when not the default,
    so that the files of runs without them stay as they were."""

    def __init__(self, algo, inputs, solver=None, loss=None, l2=0.0, tol=None, max_iter=100,
                 step_size=None, label_col="default", header="auto", skip_bad_rows=False,
                 max_bad_fraction=DEFAULT_MAX_BAD_FRACTION, standardize=False, format="auto",
                 n_features=None, k=None, init="k-means||", n_init=DEFAULT_N_INIT, seed=0,
                 batch_fraction=0.1, schedule=None, eta0=None, power_t=0.5, average=False,
                 local_epochs=1, batch_size=32, multiclass="auto", weight_col=None,
                 class_weight=None, table=None, l1_ratio=0.0, lambdas=None, cv=None,
                 hash_features=None):
        if algo not in ALGOS:
            raise MrlearnError("unknown --algo %r; choose one of %s" % (algo, ", ".join(ALGOS)))
        default_solver, solvers, losses = ALGOS[algo]
        self.solver_given = solver is not None
        solver = solver or default_solver
        if solver not in solvers:
            raise MrlearnError("--solver %s does not apply to %s; choose one of %s"
                               % (solver, algo, ", ".join(solvers)))
        loss = loss or losses.get(solver, DEFAULT_LOSS[algo])
        if algo == "svm" and loss not in ("hinge", "squared_hinge"):
            raise MrlearnError("--loss for svm is hinge or squared_hinge, not %r" % loss)
        if loss == "hinge" and solver not in ("gd", "sgd", "mixing"):
            raise MrlearnError("the hinge loss is not differentiable: use --solver gd with it, "
                               "or --loss squared_hinge")
        self.tol_given = tol is not None
        tol = DEFAULT_TOL.get(solver, 1e-8) if tol is None else tol
        _check_finite(l2=l2, tol=tol, step_size=step_size, eta0=eta0, power_t=power_t,
                      batch_fraction=batch_fraction, max_bad_fraction=max_bad_fraction)
        if l2 < 0 or tol < 0 or max_iter < 1 or (step_size is not None and step_size <= 0):
            raise MrlearnError("need --l2 >= 0, --tol >= 0, --max-iter >= 1 and --step-size > 0")
        if not 0 <= max_bad_fraction <= 1:
            raise MrlearnError("--max-bad-fraction must be between 0 and 1, not %g"
                               % max_bad_fraction)
        if label_col is None and algo != "kmeans":
            raise MrlearnError("%s learns from a label column: give --label-col N" % algo)
        if algo == "kmeans":
            _check_kmeans_options(k, init, n_init, max_iter)
            if standardize:
                raise MrlearnError("--standardize applies to linear, logistic and svm: k-means "
                                   "centers in standardized units have no equivalent in the "
                                   "original units; standardize the data before clustering")
        self.algo, self.solver, self.loss = algo, solver, loss
        self.l2, self.tol, self.max_iter, self.step_size = l2, tol, max_iter, step_size
        if label_col == "default":
            label_col = None if algo == "kmeans" else 0
        self.inputs, self.label_col, self.header = list(inputs), label_col, header
        self.skip_bad_rows, self.max_bad_fraction = skip_bad_rows, max_bad_fraction
        self.standardize, self.format, self.n_features = standardize, format, n_features
        self.k, self.init, self.n_init, self.seed = k, init, n_init, seed
        if not 0 < batch_fraction <= 1 or local_epochs < 1 or batch_size < 1 or (
                schedule is not None and schedule not in SCHEDULES):
            raise MrlearnError("need 0 < --batch-fraction <= 1, --local-epochs >= 1, "
                               "--batch-size >= 1 and --schedule one of %s" % ", ".join(SCHEDULES))
        if schedule == "optimal" and l2 <= 0:
            raise MrlearnError("--schedule optimal (1 / (l2 t)) needs --l2 > 0")
        self.batch_fraction, self.schedule, self.eta0 = batch_fraction, schedule, eta0
        self.power_t, self.average = power_t, average
        self.local_epochs, self.batch_size = local_epochs, batch_size
        self.multiclass = _check_multiclass(multiclass, algo, solver, loss)
        self.weight_col = weight_col
        self.class_weight = _check_class_weight(class_weight, algo)
        self.table = (table.to_json() if isinstance(table, TableOptions)
                      else TableOptions.from_json(table).to_json())
        self.l1_ratio = _check_l1_ratio(l1_ratio, algo, solver, self.multiclass)
        self.lambdas, self.cv = _check_path(lambdas, cv, l2, self.l1_ratio, algo, solver,
                                            self.multiclass)
        self.hash_features = hash_features

    @property
    def table_options(self):
        """The table options (:class:`driver.table.TableOptions`)."""
        return TableOptions.from_json(self.table)

    def weighted(self):
        """Whether rows carry weights (a weight column or class weights)."""
        return self.weight_col is not None or bool(self.class_weight)

    def to_json(self):
        out = {k: getattr(self, k) for k in self.FIELDS}
        out.update((k, getattr(self, k)) for k, default in self.OPTIONAL_FIELDS.items()
                   if getattr(self, k) != default)
        return out

    def differences(self, other):
        """Names of the fields (max_iter aside) in which a checkpoint's config differs."""
        expected = dict(self.OPTIONAL_FIELDS, **other)
        return [k for k in self.FIELDS + tuple(self.OPTIONAL_FIELDS)
                if k != "max_iter" and expected.get(k) != getattr(self, k)]

    def tol_for(self, solver):
        """``--tol`` if given, else the default of ``solver`` (for a run that falls back
        to another solver than it started with)."""
        return self.tol if self.tol_given else DEFAULT_TOL.get(solver, 1e-8)

    def multiclass_ok(self):
        """Whether this run may find more than two classes (and then trains a multiclass
        model): logistic and svm, with newton, lbfgs, giant (then L-BFGS) or gd."""
        return self.algo in ("logistic", "svm") and self.solver in ("newton", "lbfgs", "giant",
                                                                     "gd")


def _check_multiclass(kind, algo, solver, loss):
    if kind not in KINDS:
        raise MrlearnError("--multiclass must be one of %s, not %r" % (", ".join(KINDS), kind))
    if kind == "auto":
        return kind
    if algo not in ("logistic", "svm") or solver not in ("newton", "lbfgs", "gd"):
        raise MrlearnError("--multiclass %s applies to logistic and svm with --solver newton, "
                           "lbfgs or gd, not %s/%s" % (kind, algo, solver))
    if kind == "multinomial" and algo != "logistic":
        raise MrlearnError("--multiclass multinomial is the softmax of logistic regression; "
                           "svm trains one-vs-rest: use --multiclass ovr")
    return kind


def _check_class_weight(class_weight, algo):
    """``--class-weight``: None, ``"balanced"``, or a JSON object (text or dict) of label ->
    finite weight >= 0; returned as None, "balanced" or a dict with the labels' text keys."""
    if class_weight is None or class_weight == "balanced":
        if class_weight and algo not in ("logistic", "svm"):
            raise MrlearnError("--class-weight applies to logistic and svm, not %s" % algo)
        return class_weight
    if algo not in ("logistic", "svm"):
        raise MrlearnError("--class-weight applies to logistic and svm, not %s" % algo)
    try:
        weights = json.loads(class_weight) if isinstance(class_weight, str) else class_weight
        ok = isinstance(weights, dict) and all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            and v >= 0 for v in weights.values())
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise MrlearnError("--class-weight must be balanced or a JSON object of label: weight "
                           "(finite, >= 0), e.g. '{\"0\": 1, \"1\": 5}'; not %r" % (class_weight,))
    return {str(k): v for k, v in weights.items()}


def _check_finite(**options):
    """Refuse NaN and infinite option values (None means "not given")."""
    for name, value in options.items():
        if value is not None and not np.isfinite(value):
            raise MrlearnError("--%s must be a finite number, not %r"
                               % (name.replace("_", "-"), value))


PATH_SOLVERS = (("linear", "normal"), ("logistic", "newton"), ("svm", "newton"))
"""Where a path and its cross-validation run in the passes of one fit: least squares in
its one pass (:mod:`driver.cv`), classifiers in Newton's (:mod:`driver.path`)."""


def _check_path(lambdas, cv, l2, l1_ratio, algo, solver, multiclass):
    """``(lambdas, cv)``: a path (decreasing lambdas, or "auto" from lambda_max) and the
    folds of its cross-validation (None or K >= 2), for :data:`PATH_SOLVERS` and binary
    models."""
    if lambdas is None and cv is None:
        return None, None
    if (algo, solver) not in PATH_SOLVERS:
        raise MrlearnError("--lambdas and --cv apply to %s, not %s/%s" % (
            ", ".join("%s/%s" % pair for pair in PATH_SOLVERS), algo, solver))
    if multiclass != "auto":
        raise MrlearnError("--lambdas and --cv apply to binary models; drop --multiclass %s"
                           % multiclass)
    if cv is not None and cv < 2:
        raise MrlearnError("--cv needs at least 2 folds, not %d" % cv)
    if l2:
        raise MrlearnError("give --l2 (one penalty) or --lambdas/--cv (a path), not both")
    if lambdas in (None, "auto"):
        if not l1_ratio:
            raise MrlearnError("a ridge path needs --lambdas (the default path starts where "
                               "an L1 term zeroes every coefficient: give --l1-ratio > 0)")
        return "auto", cv
    lambdas = sorted((float(v) for v in lambdas), reverse=True)
    if not (np.all(np.isfinite(lambdas)) and lambdas[-1] > 0 and len(set(lambdas)) == len(lambdas)):
        raise MrlearnError("--lambdas must be distinct positive finite numbers")
    return lambdas, cv


def _check_l1_ratio(l1_ratio, algo, solver, multiclass):
    """``--l1-ratio`` in [0, 1]; an L1 term needs the normal equations, Newton (proximal
    Newton) or L-BFGS (OWL-QN), and a binary or multinomial model."""
    _check_finite(l1_ratio=l1_ratio)
    if not 0 <= l1_ratio <= 1:
        raise MrlearnError("--l1-ratio must be between 0 and 1, not %g" % l1_ratio)
    if l1_ratio and solver not in ("normal",) + tuple(ELASTIC_NET):
        raise MrlearnError("--l1-ratio (elastic net) needs --solver normal (linear), newton "
                           "or lbfgs, not %s" % solver)
    if l1_ratio and multiclass == "ovr":
        raise MrlearnError("--l1-ratio (elastic net) applies to binary and multinomial "
                           "models, not --multiclass ovr")
    return float(l1_ratio)


def _check_kmeans_options(k, init, n_init, max_iter):
    if k is None or k < 1:
        raise MrlearnError("k-means needs --k K with K >= 1")
    if init not in INITS:
        raise MrlearnError("--init must be one of %s, not %r" % (", ".join(INITS), init))
    if n_init < 1:
        raise MrlearnError("--n-init must be at least 1")
    least = init_passes(init, k) + 1
    if max_iter < least:
        raise MrlearnError("--max-iter %d is too few for k-means: --init %s takes %d passes "
                           "before the first Lloyd pass; give --max-iter %d or more"
                           % (max_iter, init, least - 1, least))


def new_solver(config, spec):
    """The solver ``config`` asks for, at its starting point."""
    if config.algo == "kmeans":
        return KMeansSolver(spec.n_features, config.tol, k=config.k, init=config.init,
                            n_init=config.n_init, seed=config.seed)
    if config.solver in ("sgd", "mixing"):
        return ALL_SOLVERS[config.solver](
            spec.n_features + 1, config.tol, config.loss, config.l2, seed=config.seed,
            **{k: getattr(config, k) for k in STOCHASTIC_OPTIONS})
    l1 = {"l1_ratio": config.l1_ratio} if config.l1_ratio else {}
    if config.lambdas is not None and config.solver == "newton":
        return PathSolver(spec.n_features + 1, config.tol, loss=config.loss,
                          path=config.lambdas, folds=config.cv, seed=config.seed,
                          l1_ratio=config.l1_ratio)
    if config.lambdas is not None:
        l1.update(path=config.lambdas, folds=config.cv, seed=config.seed)
    solver = config.solver
    if config.l1_ratio and solver != "normal":
        solver = ELASTIC_NET[solver]
    return SOLVERS[solver](spec.n_features + 1, config.tol, loss=config.loss,
                           l2=config.l2, step_size=config.step_size, **l1)


def train(config, runner, checkpoint_dir=None, resume=False, report=None):
    """Train a model; returns the model dict (see :mod:`driver.model`).

    ``runner`` is a :class:`driver.passes.Runner`; ``report(entry)`` is called with each
    history entry as its pass ends.
    """
    report = report or (lambda entry: None)
    spec = describe_inputs(config.inputs, config.label_col, config.header, config.format,
                           config.n_features, config.weight_col, config.table_options,
                           config.hash_features)
    class_names = (_fit_table(config, spec, runner) if spec.plan
                   else _prepared_table(config, spec) if spec.packed else None)
    _fit_solver_to_width(config, spec)
    scale = _feature_scale(spec) if config.standardize and spec.format != "libsvm" else None
    run = _start_run(config, spec, checkpoint_dir, resume)
    solver = restore_solver(run["solver"], ALL_SOLVERS)
    scale = run["scale"] = run["scale"] or scale or _libsvm_scale(config, spec, solver, runner)
    class_weights = _resolve_class_weights(config, spec, scale, runner, class_names)
    inputs = ParseOnce(spec, runner, checkpoint_dir, resume,
                       one_pass=getattr(solver, "one_pass", False))
    while not solver.done and len(run["history"]) < config.max_iter:
        started = time.time()
        first = not run["history"]
        measuring = config.standardize and scale is None  # libsvm: see _libsvm_scale
        params = dict(spec.params(), scale=scale, **_label_check(config), **solver.pass_params(),
                      **({"column_sums": True} if measuring else {}))
        if class_weights:
            params["class_weights"] = class_weights
        if first and config.multiclass_ok():
            params["label_sums"] = True
        record = inputs.run_pass(solver.job, params)
        _check_record(config, run, record)
        if measuring:
            scale = run["scale"] = column_scale(record)
            record = in_scaled_units(record, scale)
        multiclass = multiclass_kind(config, run["classes"])
        _check_weighted_classes(config, run["classes"], class_names)
        counts = {}
        if first and multiclass and (config.lambdas is not None or (
                config.l1_ratio and multiclass == "ovr")):
            raise MrlearnError("%s has %d classes: %s apply to binary models" % (
                ", ".join(config.inputs), len(run["classes"]),
                "--lambdas and --cv" if config.lambdas is not None
                else "--l1-ratio (one-vs-rest)"))
        if first and multiclass:
            counts = {"class_counts": class_counts(run["classes"], record)}
            solver, record = start_multiclass(config, spec.n_features, run["classes"], record)
        info = dict(solver.update(record), **counts)
        if not multiclass:
            info.update(null_model_counts(config.loss, params.get("thetas"), record))
        for key in ("weight_sum", "missing_labels"):
            if key in record:
                info[key] = record[key]
        run["history"].append(dict({"pass": len(run["history"]) + 1},
                                   seconds=round(time.time() - started, 3), **info))
        run["solver"] = solver.state()
        _check_finite_state(config, run)
        _save_checkpoint(checkpoint_dir, config, run)
        report(run["history"][-1])
    return _model(config, spec, run, solver, scale, class_weights, class_names)


def _fit_table(config, spec, runner):
    """The schema pass of a table: fits ``spec.table``; returns the class names of a text
    label (in the order of the indices it encodes to), else None."""
    classes = fit_table(spec, config.table_options, runner, _drops_references(config),
                        config.skip_bad_rows, config.max_bad_fraction)
    return _text_label_check(config, spec, classes)


def _drops_references(config):
    """Whether the fit is unpenalized, so that one-hot columns need a reference level."""
    return config.l2 == 0 and config.lambdas is None and config.algo in ("linear", "logistic")


def _text_label_check(config, spec, classes):
    """``classes`` (a text label's class names, or None), refused for linear regression."""
    if classes and config.algo == "linear":
        raise MrlearnError("linear regression needs a numeric label; the label of %s holds "
                           "text (%s ...)" % (spec.files[0], ", ".join(classes[:3])))
    return classes


def fit_table(spec, options, runner, drop_first, skip_bad_rows, max_bad_fraction):
    """Run the schema pass of the table ``spec`` (with its ``plan``) and set ``spec.table``
    (``drop_first``: drop reference levels); returns the text label's class names or None.
    Column names and roles are checked before the pass."""
    path = spec.files[0]
    column_roles = roles(spec.plan, spec.n_columns, spec.label_col, spec.weight_col, options)
    params = dict(spec.params(), table=schema_table(spec.plan, spec.n_columns, options))
    record = run_pass(MRSchemaPass, params, spec.files, runner)
    check_bad_rows(record, skip_bad_rows, max_bad_fraction)
    spec.table = build_table(spec.plan, record["columns_schema"], column_roles, options,
                             drop_first, path)
    return string_classes(spec.table, options, path)


def _prepared_table(config, spec):
    """For packed input that ``prepare`` encoded from a table: its encoding, with the
    reference levels an unpenalized fit drops (the passes drop their packed columns), as
    ``spec.table``; returns the class names of a text label, else None."""
    try:
        stats = prepared_stats(spec)
    except MrlearnError:  # packed blocks without prepare's sidecar: numbers as they are
        return None
    if "table" not in stats:
        return None
    if config.standardize or config.table_options.given():
        raise MrlearnError("%s holds a table prepare encoded already: train on it without "
                           "--standardize and table options (give them to prepare)"
                           % spec.files[0])
    spec.table, spec.drop_columns = with_references(stats["table"], _drops_references(config))
    return _text_label_check(config, spec, stats.get("classes"))


def _resolve_class_weights(config, spec, scale, runner, class_names=None):
    """The class weights of the run as pass parameters (label key -> weight), or None.

    ``balanced`` is scikit-learn's ``compute_class_weight``: ``w_c = W / (K W_c)`` with
    ``W_c`` the total weight (row count without ``--weight-col``) of class c, ``W`` their
    sum, ``K`` the classes found: one counting pass, at the start of every run (a resumed
    run counts again: the weights are a function of the input, which its fingerprint
    pins). A dict is taken as given (its labels are checked once the classes are known).
    """
    if not config.class_weight:
        return None
    if config.class_weight != "balanced":
        return _class_weight_keys(config, class_names)
    params = dict(spec.params(), scale=scale, **_label_check(config), loss=config.loss,
                  thetas=[[0.0] * (spec.n_features + 1)], order=0, class_totals=True)
    record = run_pass(MRObjectivePass, params, spec.files, runner)
    check_bad_rows(record, config.skip_bad_rows, config.max_bad_fraction)
    totals = record.get("class_totals") or {}
    if not totals or min(totals.values()) <= 0:
        raise MrlearnError("--class-weight balanced: a class of %s has no weight (classes and "
                           "totals: %s); check --weight-col" % (", ".join(config.inputs), totals))
    total = sum(totals.values())
    return {k: total / (len(totals) * t) for k, t in totals.items()}


def _class_weight_keys(config, class_names):
    """``--class-weight``'s dict keyed as the passes see labels: a text label's class names
    (``class_names``, from the schema pass) by their index, numbers as numbers; a name
    that is no class, or text where labels are numbers, refused before the first pass."""
    weights, where = config.class_weight, ", ".join(config.inputs)
    if class_names:
        unknown = [k for k in weights if k not in class_names]
        if unknown:
            raise MrlearnError("--class-weight names %s, not a class of %s (classes: %s)" % (
                ", ".join(unknown), where, ", ".join(class_names)))
        return {label_key(class_names.index(k)): float(v) for k, v in weights.items()}
    try:
        return {label_key(float(k)): float(v) for k, v in weights.items()}
    except ValueError:
        raise MrlearnError("--class-weight names %s, but the labels of %s are numbers" % (
            ", ".join(k for k in weights if not is_number(k)), where))


def _check_weighted_classes(config, classes, class_names=None):
    """Refuse class-weight labels that are no class of the input (numeric labels: text
    labels were checked against the schema's classes before the first pass)."""
    if isinstance(config.class_weight, dict) and classes and not class_names:
        known = {label_key(c) for c in classes}
        unknown = [k for k in config.class_weight if label_key(float(k)) not in known]
        if unknown:
            raise MrlearnError("--class-weight names %s, not a class of %s (classes: %s)" % (
                ", ".join(unknown), ", ".join(config.inputs), ", ".join(map(str, classes))))


def _all_finite(value):
    """Whether every float in ``value`` (JSON types) is finite; a list of numbers (a
    Hessian of a million entries) is checked as one array."""
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        try:  # numpy reads None as NaN: an array that is not all finite is looked at item by item
            if np.isfinite(np.asarray(value, dtype=np.float64)).all():
                return True
        except (TypeError, ValueError):
            pass
        return all(_all_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def _check_finite_state(config, run):
    """Stop before a NaN or infinite model reaches the checkpoint or the model file."""
    if _all_finite(run["solver"]):
        return
    passes = len(run["history"])
    raise MrlearnError(
        "pass %d made the %s/%s model non-finite: the run diverged (objective %s). Lower "
        "--step-size or --eta0, or scale the features (--standardize); the "
        "checkpoint keeps pass %d" % (passes, config.algo, config.solver,
                                      run["history"][-1].get("objective"), passes - 1))


def _fit_solver_to_width(config, spec):
    """Newton and the normal equations need a d x d matrix: not for wide sparse input
    (more than DENSE_MAX_FEATURES libsvm features)."""
    if not spec.sparse:
        return
    if config.solver not in ("newton", "normal", "lloyd"):
        return
    if config.lambdas is not None:
        raise MrlearnError("--lambdas and --cv need Newton's Hessian, at most %d features; %s "
                           "has %d sparse features" % (DENSE_MAX_FEATURES, spec.files[0],
                                                       spec.n_features))
    if config.algo == "kmeans" or config.solver_given:
        raise MrlearnError("%s/%s needs dense rows; %d sparse features is too wide (use "
                           "--solver giant, lbfgs or gd)" % (config.algo, config.solver,
                                                            spec.n_features))
    config.solver = WIDE_SOLVER if WIDE_SOLVER in _wide_solvers(config) else "lbfgs"
    config.tol = config.tol_for(config.solver)


WIDE_SOLVER = "giant"
"""The default solver for wide sparse input, where it applies (:func:`_wide_solvers`);
L-BFGS elsewhere."""


def _wide_solvers(config):
    """The solvers without a d x d matrix that fit ``config``: GIANT is for one binary or
    least-squares model with a smooth loss and no L1 term (multiclass models found in the
    data fall back to L-BFGS: :func:`driver.multiclass.new_multiclass_solver`)."""
    if config.l1_ratio or config.multiclass != "auto" or config.loss == "hinge":
        return ("lbfgs", "gd")
    return ("giant", "lbfgs", "gd")


def _feature_scale(spec):
    """Mean and standard deviation (1 for constant columns) of the feature columns."""
    columns = prepared_stats(spec)["columns"]
    features = spec.feature_columns()
    std = np.sqrt(np.asarray(columns["variance"])[features])
    std[std == 0] = 1.0
    return {"mean": np.asarray(columns["mean"])[features].tolist(), "std": std.tolist()}


def _libsvm_scale(config, spec, solver, runner):
    """A libsvm input's ``--standardize`` scale (:mod:`driver.scaling`) before the next
    pass: None without ``--standardize``, or when that pass measures it (the solver's first
    pass, at theta = 0); else measured now, by a statistics pass."""
    if not (config.standardize and spec.format == "libsvm"):
        return None
    if measured_by(solver.job, solver.pass_params()):
        return None
    params = dict(spec.params(), **_label_check(config), loss=config.loss,
                  **statistics_params(spec.n_features))
    record = run_pass(MRObjectivePass, params, spec.files, runner)
    check_bad_rows(record, config.skip_bad_rows, config.max_bad_fraction)
    if record["n"] == 0:
        raise MrlearnError("no usable rows in %s" % ", ".join(config.inputs))
    return column_scale(record)


def _check_record(config, run, record):
    """Validate a pass record against the input and what earlier passes saw."""
    check_bad_rows(record, config.skip_bad_rows, config.max_bad_fraction)
    if record["n"] == 0:
        raise MrlearnError("no usable rows in %s" % ", ".join(config.inputs))
    if record.get("weight_sum", 1) <= 0:
        raise MrlearnError("every row of %s weighs 0; check --weight-col and --class-weight"
                           % ", ".join(config.inputs))
    if run["n_rows"] is None:
        run["n_rows"], run["bad_rows"] = record["n"], record["bad_rows"]
        run["classes"] = _classes(config, record.get("labels", []))
    elif record["n"] != run["n_rows"]:
        raise MrlearnError("the input changed during training: %d rows in this pass, %d before"
                           % (record["n"], run["n_rows"]))


def _label_check(config):
    """Pass parameters that make a row with a label no classifier has a bad row.

    Where a multiclass model may come out, classes are the labels found: any number with
    ``--multiclass``; integers without (so a stray 0.5 among 0/1 labels is a bad row
    rather than a third class).
    """
    if config.algo in ("linear", "kmeans"):
        return {}
    if config.multiclass_ok() and config.multiclass != "auto":
        return {}
    if config.multiclass_ok():
        return {"label_values": "integers", "label_rule": "%s classes are integers (any "
                "numbers with --multiclass multinomial or ovr)" % config.algo}
    return {"label_values": [-1, 0, 1],
            "label_rule": "%s needs labels 0/1 or -1/1" % config.algo}


def _classes(config, labels):
    if config.algo in ("linear", "kmeans"):
        return None
    if config.multiclass_ok():
        classes = check_classes(config, labels, MAX_LABELS)
        if multiclass_kind(config, classes):
            return classes
    found = set(labels)
    if not (found <= {0.0, 1.0} or found <= {-1.0, 1.0}) or len(found) != 2:
        raise MrlearnError(
            "%s needs two classes labelled 0/1 or -1/1 in column %d; found %s. Check "
            "--label-col." % (config.algo, config.label_col,
                              ", ".join("%g" % v for v in sorted(found)[:10])))
    return sorted(int(v) for v in found)


def _model(config, spec, run, solver, scale, class_weights=None, class_names=None):
    stop_reason = solver.stop_reason or "max_iter (%d passes) reached" % config.max_iter
    kind = multiclass_kind(config, run["classes"])
    model = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "algo": config.algo, "solver": solver_method(solver) if kind else config.solver,
        "loss": config.loss, "classes": run["classes"], "n_features": spec.n_features,
        "params": {k: v for k, v in config.to_json().items() if k not in ("algo", "solver", "loss")},
        "n_rows": run["n_rows"], "bad_rows": run["bad_rows"],
        "n_passes": len(run["history"]), "n_iter": len(run["history"]),
        "converged": bool(solver.done), "stop_reason": stop_reason, "history": run["history"],
    }
    if kind:
        model["multiclass"] = kind
    model.update(solver.model_fields())
    if scale:
        model.update(in_original_units(model, scale))
        if "path" in model:
            model["path"].update(in_original_units(model["path"], scale))
    if class_weights:
        model["class_weights"] = class_weights
    if config.weighted():
        model["weight_sum"] = run["history"][-1]["weight_sum"]
    if spec.table:
        model.update(table=spec.table, feature_names=spec.table["feature_names"],
                     n_passes=model["n_passes"] + 1, schema_passes=1,
                     missing_labels=run["history"][0].get("missing_labels", 0))
    if class_names:
        model["classes"] = class_names
    if kind == "ovr":
        model["summary"] = {"unavailable": "one-vs-rest fits K separate binary models, not "
                                           "one likelihood; train --multiclass multinomial"}
    elif config.algo != "kmeans":
        model["summary"] = model_summary(config, run, solver, model, scale)
    return model


def checkpoint_path(checkpoint_dir):
    return checkpoint_dir.rstrip("/") + "/" + CHECKPOINT_FILE


def _save_checkpoint(checkpoint_dir, config, run):
    if not checkpoint_dir:
        return
    state = dict(run, format=CHECKPOINT_FORMAT, format_version=CHECKPOINT_VERSION,
                 config=config.to_json())
    hdfs_utils.write_text(checkpoint_path(checkpoint_dir), json.dumps(state))


def _start_run(config, spec, checkpoint_dir, resume):
    """The run state to start from: a new one, or on ``resume`` the checkpoint's.

    Before any pass, refuses: ``resume`` from a directory that holds files but no
    checkpoint, or a checkpoint this run cannot continue (see :func:`_check_checkpoint`);
    and a new run into a directory that holds a checkpoint (it would replace it). A
    missing or empty directory starts a new run.
    """
    if resume and not checkpoint_dir:
        raise MrlearnError("--resume needs --checkpoint-dir")
    run = {"history": [], "n_rows": None, "bad_rows": 0, "classes": None, "scale": None,
           "solver": new_solver(config, spec).state(),
           "fingerprint": hdfs_utils.fingerprint(spec.files) if checkpoint_dir else None}
    if not checkpoint_dir:
        return run
    path, state, names = _find_checkpoint(checkpoint_dir)
    if path and not resume:
        raise MrlearnError("--checkpoint-dir %s already holds a checkpoint (%s); add --resume "
                           "to continue that run, or pass a new --checkpoint-dir" % (
                               checkpoint_dir, path))
    if not path and resume and names:
        raise MrlearnError(
            "--resume: --checkpoint-dir %s holds no %s (found %s); pass the directory of the "
            "run to resume, or remove these files to start over"
            % (checkpoint_dir, CHECKPOINT_FILE, ", ".join(names[:3])))
    return _check_checkpoint(path, state, config, run) if path and resume else run


def _find_checkpoint(checkpoint_dir):
    """``(path, parsed JSON, [])`` of the checkpoint in ``checkpoint_dir``, or
    ``(None, None, names of the files there)``.

    The checkpoint is ``checkpoint.json``; without it, the upload that a crash between
    Hadoop's delete and rename left whole (see :func:`hdfs_utils.write_bytes`): a cut-off
    upload is not a JSON object, so it does not count.
    """
    names = sorted({p.rstrip("/").rsplit("/", 1)[-1] for p in hdfs_utils.ls(checkpoint_dir)})
    path = checkpoint_path(checkpoint_dir)
    if CHECKPOINT_FILE in names:
        try:
            return path, json.loads(hdfs_utils.read_text(path)), []
        except ValueError:
            raise MrlearnError("%s is not a readable checkpoint; remove it to start over" % path)
    upload = hdfs_utils.interrupted_upload(path)
    if upload.rsplit("/", 1)[-1] in names:
        try:
            return upload, json.loads(hdfs_utils.read_text(upload)), []
        except ValueError:
            pass
    return None, None, names


_TYPES = {"config": dict, "history": list, "n_rows": (int, type(None)), "bad_rows": int,
          "classes": (list, type(None)), "solver": dict, "fingerprint": list,
          "scale": (dict, type(None))}


def _check_checkpoint(path, state, config, fresh):
    """The run state of checkpoint ``state`` (JSON read from ``path``) that ``config``
    continues; MrlearnError naming ``path`` and what is wrong otherwise.

    ``fresh``: this run's new state (its solver's layout for the input, the input's
    fingerprint now).
    """
    def refuse(what, fix="remove it or use another --checkpoint-dir"):
        raise MrlearnError("--resume: %s %s; %s" % (path, what, fix))

    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        refuse("is not an mrlearn checkpoint")
    if state.get("format_version") not in RESUMABLE_VERSIONS:
        refuse("has checkpoint format version %r; this mrlearn resumes versions %s"
               % (state.get("format_version"), " and ".join(map(str, RESUMABLE_VERSIONS))),
               "start over in a new --checkpoint-dir")
    if state["format_version"] < 4:
        state = dict(state, scale=None)
    for key, types in _TYPES.items():
        if key not in state:
            refuse("lacks %r" % key)
        if not isinstance(state[key], types) or isinstance(state[key], bool):
            refuse("has a %s for %r" % (type(state[key]).__name__, key))
    changed = config.differences(state["config"])
    if changed:
        refuse("was written for a different run (%s differ)" % ", ".join(changed),
               "resume with the same options or use another --checkpoint-dir")
    problem = (_solver_problem(state["solver"], _fresh_solver(config, state, fresh))
               or _scale_problem(state["scale"], config, fresh["solver"]["n_params"] - 1))
    if problem or not all(isinstance(entry, dict) for entry in state["history"]):
        refuse(problem or "has a history that is not a list of passes")
    for was, now in zip(state["fingerprint"] + [[None]] * len(fresh["fingerprint"]),
                        fresh["fingerprint"]):
        if was != now:
            refuse("was written for other input: %s changed since (size or modification "
                   "time)" % now[0], "train without --resume into a new --checkpoint-dir")
    if len(state["fingerprint"]) > len(fresh["fingerprint"]):
        gone = state["fingerprint"][len(fresh["fingerprint"])]
        refuse("was written for other input: %s is gone" % (gone[0] if isinstance(gone, list) and gone else gone),
               "train without --resume into a new --checkpoint-dir")
    return {key: state[key] for key in _TYPES if key != "config"}


def _scale_problem(scale, config, n_features):
    """What is wrong with a checkpoint's feature ``scale`` (None, or ``std`` and optionally
    ``mean``, (n_features,) each, std > 0) for ``config``, or None."""
    if scale is None:
        return None
    if not config.standardize:
        return "holds a feature scale, but this run is not --standardize"
    if "std" not in scale or set(scale) - {"mean", "std"}:
        return "has a feature scale of fields %s (std, optionally mean)" % ", ".join(sorted(scale))
    try:
        parts = [np.asarray(v, dtype=np.float64) for v in scale.values()]
    except (TypeError, ValueError):
        return "has non-numbers in its feature scale"
    if any(v.shape != (n_features,) or not np.isfinite(v).all() for v in parts):
        return "has a feature scale not of %d finite numbers" % n_features
    if not (np.asarray(scale["std"]) > 0).all():
        return "has a feature scale with a std <= 0"
    return None


def _fresh_solver(config, state, fresh):
    """The state a new solver of this run has after the pass that found the checkpoint's
    classes: a multiclass one if they make a multiclass model, else ``fresh``'s."""
    classes = state["classes"]
    if not classes or not multiclass_kind(config, classes):
        return fresh["solver"]
    return new_multiclass_solver(config, fresh["solver"]["n_params"] - 1, classes).state()


# Solver state arrays: (n_params,) vectors and (m, n_params) matrices.
_VECTORS = ("x0", "x", "g", "d", "theta", "adagrad_sum", "average_theta")
_MATRICES = ("H", "S", "Y")


def _solver_problem(state, fresh):
    """What is wrong with solver ``state`` given this input's new solver state ``fresh``
    (same name, keys, kinds of values; arrays sized by ``n_params``), or None."""
    missing = sorted(set(fresh) - set(state))
    if missing:
        return "lacks solver %s" % ", ".join(missing)
    for key, value in fresh.items():
        if value is not None and _kind(state[key]) != _kind(value):
            return "has a %s for solver %r" % (type(state[key]).__name__, key)
    n = fresh["n_params"]
    if state["name"] != fresh["name"] or state["n_params"] != n:
        return ("holds a %s solver of %s parameters; this input needs %s of %d"
                % (state["name"], state["n_params"], fresh["name"], n))
    arrays = [(key, state.get(key), 1) for key in _VECTORS] + [
        (key, state.get(key), 2) for key in _MATRICES] + [
        ("sets", centers, 2) for centers in state.get("sets", []) if centers]
    for key, value, ndim in arrays:
        try:
            shape = None if value is None else np.asarray(value, dtype=np.float64).shape
        except (TypeError, ValueError):
            return "has non-numbers in solver %r" % key
        if shape is not None and (len(shape) != ndim or shape[-1] != n):
            return "has solver %r of shape %s; this input needs (%s%d,)" % (
                key, shape, "m, " if ndim == 2 else "", n)
    return None


def _kind(value):
    """bool, number, str, list or dict (int and float are one kind)."""
    return "bool" if isinstance(value, bool) else "number" if isinstance(
        value, (int, float)) else type(value).__name__
