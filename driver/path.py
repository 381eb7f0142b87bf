"""The regularization path and K-fold cross-validation of logistic regression and the
squared-hinge SVM, every model advanced in the same passes.

A path of L penalties with K folds is L (K + 1) models: for each lambda one on all rows and
one per fold on the other folds' rows. Each is a Newton (ridge) or proximal Newton
(elastic net) solver of :mod:`driver.solvers`; this solver only schedules them. A pass
evaluates the trial points of every model still running (points shared by several models,
such as the start at zero, once) and returns per-fold sums
(:func:`jobs.kernels.fold_sums`): a model's training sums are those of the folds it trains
on, and its held-out loss and accuracy those of the fold it leaves out. Each model stops on
its own rule and drops out of the passes; the run ends when all have stopped, so the whole
path with its cross-validation costs the passes of its slowest model, not L (K + 1) fits.

Every model starts at zero. Without ``--lambdas`` the path is glmnet's: PATH_LENGTH lambdas
from ``lambda_max`` (the smallest penalty whose model has no coefficient, found from the
first pass's per-label sums: :func:`lambda_max`) down to PATH_RATIO of it.

Memory: a pass holds one (d + 1)^2 Hessian per running model. At most
:data:`HESSIAN_BUDGET` numbers of them are summed per pass; beyond that the models run in
turns (more passes, the same models), never out of memory. A mapper evaluates the trial
points :data:`jobs.kernels.FOLD_CHUNK` at a time, so its (rows x points) arrays stay small
however many models run.
"""
import numpy as np

from driver.cv import PATH_LENGTH, PATH_RATIO, check_fold_sizes, cv_curve
from driver.errors import MrlearnError
from driver.solvers import Newton, ProximalNewton, restore_solver
from jobs.objective_pass import MRObjectivePass

HESSIAN_BUDGET = 1 << 20
"""Hessian numbers a pass sums at most (8 MB per split record): L (K + 1) (d + 1)^2 for
the whole path at once, so e.g. 20 lambdas x 6 models of 100 features run together, and
models of 1000 features one at a time."""

LAMBDA_MAX_MARGIN = 1e-9
"""lambda_max is raised by this fraction, so that rounding in the first model's solve
cannot leave a coefficient of 1e-17 where the penalty zeroes them all."""

CONVERGED = {"converged", Newton.AT_OPTIMUM, ProximalNewton.AT_OPTIMUM}
"""Stop reasons of a model at its optimum."""

MEASURES = {"logistic": "deviance", "squared_hinge": "squared hinge loss"}
"""What the held-out error of a classifier is: glmnet's binomial deviance (twice the mean
log-loss) for logistic regression, the mean loss for the SVM."""


def lambda_max(loss, label_sums, l1_ratio):
    """The smallest penalty at which the elastic net of ``loss`` has no coefficient: the
    largest ``|gradient|`` of the mean loss over the coefficients at the intercept-only
    model, divided by ``l1_ratio`` (glmnet's start). From a pass's ``label_sums`` (per
    label, the sums of ``[x, 1]``; rows weighted as the passes weigh them).

    The intercept-only model predicts the positive share ``q``: logistic, ``sigmoid(b) =
    q``, gradient ``sum_i (q - y_i) x_i / n``; squared hinge, ``b = 2q - 1`` (inside every
    margin), gradient ``-2 sum_i y_i (1 - y_i b) x_i / n`` with ``y`` in {-1, 1}.
    """
    sums = [np.asarray(v, dtype=np.float64) for v in label_sums.values()]
    positive = sum(v for k, v in zip(label_sums, sums) if float(k) > 0)
    negative = sum(v for k, v in zip(label_sums, sums) if float(k) <= 0)
    n = positive[-1] + negative[-1]
    q = positive[-1] / n
    if loss == "logistic":
        gradient = (q * (positive + negative) - positive) / n
    else:
        b = 2.0 * q - 1.0
        gradient = (-2.0 * (1.0 - b) * positive + 2.0 * (1.0 + b) * negative) / n
    return float(np.abs(gradient[:-1]).max() / l1_ratio * (1.0 + LAMBDA_MAX_MARGIN))


class PathSolver:
    """The models of a path (``path``: decreasing lambdas, or ``"auto"``) and, with
    ``folds`` K, of its K-fold cross-validation, in the passes of one fit.

    Model ``i (K + 1) + s`` has penalty ``lambdas[i]``; slot ``s = 0`` trains on all rows,
    slot ``s = k + 1`` on all but fold k. ``folds`` None: slot 0 only.
    """

    name = "path"
    job = MRObjectivePass
    order = 2

    def __init__(self, n_params, tol=1e-6, **options):
        """``options``: ``loss``, ``path``, ``folds``, ``seed``, ``l1_ratio`` (0: ridge)."""
        self.n_params, self.tol, self.options = n_params, tol, options
        self.lambdas = self.models = self.heldout = self.passes = None
        if options["path"] != "auto":
            self._start(list(options["path"]))
        self.fold_weights = None  # per fold: rows (or weight)
        self.done = False
        self.stop_reason = None

    # --- the models -----------------------------------------------------------------------

    @property
    def n_folds(self):
        return self.options.get("folds") or 1

    @property
    def slots(self):
        """Models per lambda: all rows, then one per fold left out (with CV)."""
        return self.n_folds + 1 if self.options.get("folds") else 1

    def left_out(self, model):
        """The fold model ``model`` leaves out, or -1."""
        return model % self.slots - 1

    def _start(self, lambdas):
        """The models of ``lambdas`` at zero; per model, ``heldout`` ([loss, correct] on
        the fold it leaves out, once evaluated) and ``passes`` (passes it took part in)."""
        ratio = self.options.get("l1_ratio", 0.0)
        solver = ProximalNewton if ratio else Newton
        extra = {"l1_ratio": ratio} if ratio else {}
        self.lambdas = lambdas
        self.models = [solver(self.n_params, self.tol, loss=self.options["loss"], l2=lam,
                              **extra) for lam in lambdas for _ in range(self.slots)]
        self.heldout = [None] * len(self.models)
        self.passes = [0] * len(self.models)

    def _running(self):
        """The models the next pass advances: those not done, as many as the Hessian
        budget allows (in model order)."""
        running = [j for j, m in enumerate(self.models) if not m.done]
        return running[:max(1, HESSIAN_BUDGET // self.n_params ** 2)]

    # --- the pass loop's interface --------------------------------------------------------

    def _plan(self):
        """``(thetas (m, p), per running model (model, candidate rows, Hessian index),
        Hessians [(row, fold left out)])``; before the models exist (an ``auto`` path's
        first pass) the start alone, with the Hessian of every slot."""
        if self.models is None:
            x0 = np.zeros(self.n_params)
            return x0[None, :], [], [[0, s - 1] for s in range(self.slots)]
        rows, hessians, plan = {}, {}, []
        for j in self._running():
            index = []
            for theta in self.models[j].candidates():
                index.append(rows.setdefault(theta.tobytes(), (len(rows), theta))[0])
            key = (index[0], self.left_out(j))
            h = hessians.setdefault(key, len(hessians))
            plan.append((j, index, h))
        thetas = np.array([theta for _, theta in sorted(rows.values(), key=lambda r: r[0])])
        return thetas, plan, [list(k) for k in sorted(hessians, key=hessians.get)]

    def pass_params(self):
        thetas, _, hessians = self._plan()
        return {"loss": self.options["loss"], "thetas": thetas.tolist(), "order": 2,
                "fold_hessians": hessians, "folds": self.n_folds,
                "seed": self.options.get("seed", 0)}

    def update(self, record):
        """Advance every model the pass evaluated; returns history info."""
        if self.models is None:
            self._start(default_path(self.options["loss"], record["label_sums"],
                                     self.options["l1_ratio"]))
        thetas, plan, _ = self._plan()
        loss, grad = np.asarray(record["fold_loss"]), np.asarray(record["fold_grad"])
        correct, hess = np.asarray(record["fold_correct"]), np.asarray(record["fold_hess"])
        weights, counts = np.asarray(record["fold_weights"]), np.asarray(record["fold_n"])
        self.fold_weights = weights.tolist()
        if self.options.get("folds"):
            check_fold_sizes(self.fold_weights)
        for j, index, h in plan:
            fold = self.left_out(j)
            train = np.arange(self.n_folds) != fold
            model = self.models[j]
            model.update({"n": int(counts[train].sum()), "weight_sum": float(weights[train].sum()),
                          "loss": loss[index][:, train].sum(axis=1),
                          "grad": grad[index][:, train].sum(axis=1), "hess": hess[h]})
            self.passes[j] += 1
            at = [i for i in index if np.array_equal(thetas[i], model.x)]
            if fold >= 0 and at:
                self.heldout[j] = [float(loss[at[0], fold]), float(correct[at[0], fold])]
        self.done = all(m.done for m in self.models)
        if self.done:
            reasons = sorted({m.stop_reason for m in self.models} - CONVERGED)
            self.stop_reason = ("all models stopped: " + ", ".join(reasons) if reasons
                                else "converged")
        last = self.models[plan[-1][0]]  # the smallest penalty of those that ran
        return {"objective": last.f, "grad_norm": float(np.linalg.norm(last.optimality())),
                "step": last.step, "accepted": True, "candidates": len(thetas),
                "running": len(plan)}

    # --- what the model holds ---------------------------------------------------------------

    def _full(self):
        """The models on all rows, one per lambda."""
        return self.models[::self.slots]

    def model_fields(self):
        waiting = sum(m.x is None for m in self.models)
        if waiting:
            raise MrlearnError(
                "--max-iter ended the path before %d of its %d models ran (they take turns "
                "within the Hessian budget): resume from --checkpoint-dir with a larger "
                "--max-iter, or give fewer --lambdas or --cv folds" % (waiting, len(self.models)))
        full = self._full()
        path = {"lambdas": self.lambdas,
                "coef": [m.x[:-1].tolist() for m in full],
                "intercept": [float(m.x[-1]) for m in full],
                "objective": [m.f for m in full],
                "n_nonzero": [int(np.count_nonzero(m.x[:-1])) for m in full],
                "passes": self.passes[::self.slots],
                "converged": [bool(m.done) for m in full]}
        cv, chosen = self.cross_validation()
        path["chosen"] = chosen
        fields = {"coef": path["coef"][chosen], "intercept": path["intercept"][chosen],
                  "objective": path["objective"][chosen], "l2": self.lambdas[chosen],
                  "n_nonzero": path["n_nonzero"][chosen], "path": path}
        if cv:
            fields["cv"] = cv
        return fields

    def cross_validation(self):
        """``(cv, index of the model's lambda)``: the CV curve of the held-out error
        (:data:`MEASURES`) and accuracy with ``lambda_min`` chosen, or ``(None, the
        smallest lambda)`` without folds."""
        L = len(self.lambdas)
        if not self.options.get("folds"):
            return None, L - 1
        K = self.n_folds
        weights = np.asarray(self.fold_weights)
        held = np.array([[self.heldout[i * self.slots + k + 1] for i in range(L)]
                         for k in range(K)])  # (K, L, 2): loss and correct sums
        scale = 2.0 if self.options["loss"] == "logistic" else 1.0
        errors = scale * held[:, :, 0] / weights[:, None]
        accuracy = held[:, :, 1] / weights[:, None]
        cv, best = cv_curve(errors, weights, self.lambdas)
        cv.update(measure=MEASURES[self.options["loss"]], errors=errors.tolist(),
                  accuracy=(weights @ accuracy / weights.sum()).tolist())
        return cv, best

    # --- JSON state -------------------------------------------------------------------------

    def state(self):
        return {"name": self.name, "n_params": self.n_params, "tol": self.tol,
                "options": self.options, "lambdas": self.lambdas,
                "models": None if self.models is None else [m.state() for m in self.models],
                "heldout": self.heldout, "passes": self.passes,
                "fold_weights": self.fold_weights, "done": self.done,
                "stop_reason": self.stop_reason}

    def _load(self, state):
        self.lambdas = state["lambdas"]
        self.models = (None if state["models"] is None
                       else [restore_solver(m) for m in state["models"]])
        for key in ("heldout", "passes", "fold_weights", "done", "stop_reason"):
            setattr(self, key, state[key])


def default_path(loss, label_sums, l1_ratio):
    """PATH_LENGTH lambdas from :func:`lambda_max` down to PATH_RATIO of it, log-spaced."""
    top = lambda_max(loss, label_sums, l1_ratio)
    return np.geomspace(top, top * PATH_RATIO, PATH_LENGTH).tolist()
