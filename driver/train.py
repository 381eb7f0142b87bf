"""The training loop: one pass per iteration, runner-agnostic, checkpointed after each pass.

``train`` runs passes until the solver stops or ``max_iter`` passes are spent; after every
pass it appends to the history and writes the checkpoint atomically, so ``resume``
continues from the last finished pass and ends with the same model as an uninterrupted
run.
"""
import json
import time

import numpy as np

import hdfs_utils
from driver.errors import MrlearnError
from driver.inputs import (DEFAULT_MAX_BAD_FRACTION, check_bad_rows, describe_inputs,
                           prepared_stats)
from driver.model import FORMAT, FORMAT_VERSION, in_original_units
from driver.kmeans import INITS, KMeansSolver, init_passes
from driver.passes import run_pass
from driver.sgd import MixingSolver, SGDSolver
from driver.solvers import SOLVERS, restore_solver
from jobs.parsing import DENSE_MAX_FEATURES
from jobs.sgd import SCHEDULES

ALL_SOLVERS = dict(SOLVERS, lloyd=KMeansSolver, sgd=SGDSolver, mixing=MixingSolver)
STOCHASTIC_OPTIONS = ("batch_fraction", "schedule", "eta0", "power_t", "average",
                      "local_epochs", "batch_size")

ALGOS = {
    # algo: (default solver, solvers, loss per solver)
    "linear": ("normal", ("normal", "newton", "lbfgs", "gd", "sgd", "mixing"), {}),
    "logistic": ("newton", ("newton", "lbfgs", "gd", "sgd", "mixing"), {}),
    "svm": ("newton", ("newton", "lbfgs", "gd", "sgd", "mixing"),
            {"gd": "hinge", "sgd": "hinge", "mixing": "hinge"}),
    "kmeans": ("lloyd", ("lloyd",), {}),
}
DEFAULT_LOSS = {"linear": "squared", "logistic": "logistic", "svm": "squared_hinge",
                "kmeans": None}
DEFAULT_TOL = {"kmeans": 1e-4}
CHECKPOINT_FILE = "checkpoint.json"
CHECKPOINT_FORMAT = "mrlearn-checkpoint"


class TrainConfig:
    """What defines a training run (everything but where it runs and how long).

    ``label_col`` None means no label column (k-means); supervised algos default to 0.
    """

    FIELDS = ("algo", "solver", "loss", "l2", "tol", "max_iter", "step_size", "inputs",
              "label_col", "header", "skip_bad_rows", "max_bad_fraction", "standardize",
              "format", "n_features", "k", "init", "n_init", "seed") + STOCHASTIC_OPTIONS

    def __init__(self, algo, inputs, solver=None, loss=None, l2=0.0, tol=None, max_iter=100,
                 step_size=None, label_col="default", header="auto", skip_bad_rows=False,
                 max_bad_fraction=DEFAULT_MAX_BAD_FRACTION, standardize=False, format="auto",
                 n_features=None, k=None, init="k-means||", n_init=1, seed=0,
                 batch_fraction=0.1, schedule=None, eta0=None, power_t=0.5, average=False,
                 local_epochs=1, batch_size=32):
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
        tol = DEFAULT_TOL.get(algo, 1e-8) if tol is None else tol
        if l2 < 0 or tol < 0 or max_iter < 1 or (step_size is not None and step_size <= 0):
            raise MrlearnError("need --l2 >= 0, --tol >= 0, --max-iter >= 1 and --step-size > 0")
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

    def to_json(self):
        return {k: getattr(self, k) for k in self.FIELDS}

    def differences(self, other):
        """Names of the fields (max_iter aside) in which a checkpoint's config differs."""
        return [k for k in self.FIELDS if k != "max_iter" and other.get(k) != getattr(self, k)]


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
    return SOLVERS[config.solver](spec.n_features + 1, config.tol, loss=config.loss,
                                  l2=config.l2, step_size=config.step_size)


def train(config, runner, checkpoint_dir=None, resume=False, report=None):
    """Train a model; returns the model dict (see :mod:`driver.model`).

    ``runner`` is a :class:`driver.passes.Runner`; ``report(entry)`` is called with each
    history entry as its pass ends.
    """
    report = report or (lambda entry: None)
    spec = describe_inputs(config.inputs, config.label_col, config.header, config.format,
                           config.n_features)
    _fit_solver_to_width(config, spec)
    scale = _feature_scale(spec) if config.standardize else None
    run = _resume(config, checkpoint_dir) if resume else None
    if run is None:
        run = {"history": [], "n_rows": None, "bad_rows": 0, "classes": None,
               "solver": new_solver(config, spec).state()}
    solver = restore_solver(run["solver"], ALL_SOLVERS)
    while not solver.done and len(run["history"]) < config.max_iter:
        started = time.time()
        params = dict(spec.params(), scale=scale, **solver.pass_params())
        record = run_pass(solver.job, params, spec.files, runner)
        _check_record(config, run, record)
        info = solver.update(record)
        run["history"].append(dict({"pass": len(run["history"]) + 1},
                                   seconds=round(time.time() - started, 3), **info))
        run["solver"] = solver.state()
        _save_checkpoint(checkpoint_dir, config, run)
        report(run["history"][-1])
    return _model(config, spec, run, solver, scale)


def _fit_solver_to_width(config, spec):
    """Newton and the normal equations need a d x d matrix, SGD and mixing dense rows: not
    for wide sparse input (more than DENSE_MAX_FEATURES libsvm features)."""
    if not spec.sparse:
        return
    if config.solver in ("sgd", "mixing"):
        raise MrlearnError("sgd and mixing need dense rows (at most %d features); use "
                           "--solver lbfgs" % DENSE_MAX_FEATURES)
    if config.solver not in ("newton", "normal", "lloyd"):
        return
    if config.algo == "kmeans" or config.solver_given:
        raise MrlearnError("%s/%s needs dense rows; %d sparse features is too wide (use "
                           "--solver lbfgs or gd)" % (config.algo, config.solver, spec.n_features))
    config.solver = "lbfgs"


def _feature_scale(spec):
    """Mean and standard deviation (1 for constant columns) of the feature columns."""
    columns = prepared_stats(spec)["columns"]
    features = [j for j in range(spec.n_columns) if j != spec.label_col]
    std = np.sqrt(np.asarray(columns["variance"])[features])
    std[std == 0] = 1.0
    return {"mean": np.asarray(columns["mean"])[features].tolist(), "std": std.tolist()}


def _check_record(config, run, record):
    """Validate a pass record against the input and what earlier passes saw."""
    check_bad_rows(record, config.skip_bad_rows, config.max_bad_fraction)
    if record["n"] == 0:
        raise MrlearnError("no usable rows in %s" % ", ".join(config.inputs))
    if run["n_rows"] is None:
        run["n_rows"], run["bad_rows"] = record["n"], record["bad_rows"]
        run["classes"] = _classes(config, record.get("labels", []))
    elif record["n"] != run["n_rows"]:
        raise MrlearnError("the input changed during training: %d rows in this pass, %d before"
                           % (record["n"], run["n_rows"]))


def _classes(config, labels):
    if config.algo in ("linear", "kmeans"):
        return None
    found = set(labels)
    if not (found <= {0.0, 1.0} or found <= {-1.0, 1.0}) or len(found) != 2:
        raise MrlearnError(
            "%s needs two classes labelled 0/1 or -1/1 in column %d; found %s. Check "
            "--label-col." % (config.algo, config.label_col,
                              ", ".join("%g" % v for v in sorted(found)[:10])))
    return sorted(int(v) for v in found)


def _model(config, spec, run, solver, scale):
    stop_reason = solver.stop_reason or "max_iter (%d passes) reached" % config.max_iter
    model = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "algo": config.algo, "solver": config.solver, "loss": config.loss,
        "classes": run["classes"], "n_features": spec.n_features,
        "params": {k: v for k, v in config.to_json().items() if k not in ("algo", "solver", "loss")},
        "n_rows": run["n_rows"], "bad_rows": run["bad_rows"],
        "n_passes": len(run["history"]), "n_iter": len(run["history"]),
        "converged": bool(solver.done), "stop_reason": stop_reason, "history": run["history"],
    }
    model.update(solver.model_fields())
    if scale:
        model.update(in_original_units(model, scale))
    return model


def checkpoint_path(checkpoint_dir):
    return checkpoint_dir.rstrip("/") + "/" + CHECKPOINT_FILE


def _save_checkpoint(checkpoint_dir, config, run):
    if not checkpoint_dir:
        return
    state = dict(run, format=CHECKPOINT_FORMAT, format_version=FORMAT_VERSION,
                 config=config.to_json())
    hdfs_utils.write_text(checkpoint_path(checkpoint_dir), json.dumps(state))


def _resume(config, checkpoint_dir):
    """The run state saved in ``checkpoint_dir``, or None when there is none yet."""
    if not checkpoint_dir:
        raise MrlearnError("--resume needs --checkpoint-dir")
    path = checkpoint_path(checkpoint_dir)
    if not hdfs_utils.exists(path):
        return None
    try:
        state = json.loads(hdfs_utils.read_text(path))
    except ValueError:
        raise MrlearnError("%s is not a readable checkpoint; remove it to start over" % path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise MrlearnError("%s is not an mrlearn checkpoint" % path)
    changed = config.differences(state["config"])
    if changed:
        raise MrlearnError("%s was written for a different run (%s differ); resume with the "
                           "same options or use another --checkpoint-dir"
                           % (path, ", ".join(changed)))
    return {k: state[k] for k in ("history", "n_rows", "bad_rows", "classes", "solver")}
