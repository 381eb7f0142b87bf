"""Multiclass training: multinomial logistic regression and one-vs-rest, K classes.

The driver learns the classes from the first pass, which every logistic and svm run makes
at zero with the binary kernel. At zero both multiclass objectives depend on the data only
through the per-label sums of ``[x, 1]`` (that pass's ``label_sums``) and the Gram
``G = [X 1]^T [X 1]`` (its binary Hessian at zero is ``c G`` for a known constant ``c``),
so :func:`start_multiclass` turns that record into the one a multiclass pass at zero
would give, and the multiclass solver starts from it: no pass is spent on finding the
classes.

- **multinomial** (``--algo logistic``): scikit-learn's symmetric softmax model, K rows
  ``[w_k, b_k]``; Newton (the ``(K (d + 1))^2`` Hessian per pass) while ``K (d + 1) <=``
  :data:`NEWTON_MAX_PARAMS`, L-BFGS beyond.
- **one-vs-rest** (``--algo svm``, or ``--multiclass ovr``): K binary problems "class k
  against the rest" advanced in the same passes (:class:`OneVsRest`).
"""
import numpy as np

from driver.errors import MrlearnError
from driver.solvers import SOLVERS, restore_solver
from jobs.kernels import _loss_derivatives
from jobs.multiclass import label_key

NEWTON_MAX_PARAMS = 2000
"""Multinomial Newton while K (d + 1) is at most this; L-BFGS (with its own default
``--tol``, 1e-8, unless one was given) beyond. A Hessian of 2000^2
is 32 MB per split record (a pass over 10^5 rows: see the README's multiclass section)."""

KINDS = ("auto", "multinomial", "ovr")

ELASTIC_NET = {"newton": "proximal_newton", "lbfgs": "owlqn"}
"""The solver of an elastic net (``--l1-ratio``) for each solver that takes one."""


def multiclass_kind(config, classes):
    """``"multinomial"``, ``"ovr"`` or None (a binary model) for ``classes`` found."""
    if config.multiclass != "auto":
        return config.multiclass
    if classes is None or len(classes) <= 2 or config.algo not in ("logistic", "svm"):
        return None
    return "multinomial" if config.algo == "logistic" else "ovr"


def new_multiclass_solver(config, n_features, classes):
    """The multiclass solver of ``config`` for ``classes`` (K sorted labels), at zero."""
    K, p = len(classes), n_features + 1
    options = dict(loss=config.loss, l2=config.l2, step_size=config.step_size,
                   classes=list(classes))
    method = "lbfgs" if config.solver == "giant" else config.solver  # GIANT: binary only
    if multiclass_kind(config, classes) == "ovr":
        return OneVsRest(K * p, config.tol_for(method), method=method, **options)
    if method == "newton" and K * p > NEWTON_MAX_PARAMS:
        method = "lbfgs"
    tol = config.tol_for(method)
    if config.l1_ratio:
        method, options["l1_ratio"] = ELASTIC_NET[method], config.l1_ratio
    return SOLVERS[method](K * p, tol, **options)


def start_multiclass(config, n_features, classes, record):
    """``(solver, record)``: the multiclass solver and the record of a pass at zero,
    from the first (binary, at zero) pass's ``record``."""
    solver = new_multiclass_solver(config, n_features, classes)
    sums = [np.asarray(record["label_sums"][label_key(c)], dtype=np.float64)
            for c in classes]
    gram = None
    if solver.order >= 2:
        d2 = _loss_derivatives(config.loss, np.zeros((1, 1)), np.ones((1, 1)), 2)[2][0]
        gram = np.asarray(record["hess"], dtype=np.float64) / d2
    if isinstance(solver, OneVsRest):
        start = _ovr_at_zero(config.loss, record["n"], np.array(sums), gram)
    else:
        start = _softmax_at_zero(record["n"], np.array(sums), gram)
    if "weight_sum" in record:
        start["weight_sum"] = record["weight_sum"]
    return solver, start


def class_counts(classes, record):
    """Rows per class (class order) from a first pass's ``label_sums``: ints, or the
    classes' weight totals when rows are weighted."""
    totals = [record["label_sums"][label_key(c)][-1] for c in classes]
    return [int(t) for t in totals] if "weight_sum" not in record else totals


def _softmax_at_zero(n, sums, gram):
    """Softmax sums at zero: every probability is 1/K, so the loss is ``n log K``, the
    gradient row k ``S / K - S_k`` (``S_k`` the sums of ``[x, 1]`` over class k) and the
    Hessian ``(I / K - 1 1^T / K^2) kron G``."""
    K = len(sums)
    total = sums[:, -1].sum()  # the row count, or the weight total of weighted rows
    out = {"n": n, "loss": [total * np.log(K)], "grad": [(sums.sum(axis=0) / K - sums).ravel()]}
    if gram is not None:
        out["hess"] = np.kron(np.eye(K) / K - 1.0 / K ** 2, gram)
    return out


def _ovr_at_zero(loss, n, sums, gram):
    """One-vs-rest sums at zero, problem after problem: at margin 0 the loss and its
    derivatives depend only on the label, so each problem's sums come from the class sums
    ``S_k`` and the Gram."""
    labels = np.array([[1.0, -1.0 if loss != "logistic" else 0.0]])
    value, d1, d2 = _loss_derivatives(loss, np.zeros((1, 2)), labels, 2 if gram is not None else 1)
    counts, total = sums[:, -1], sums.sum(axis=0)  # row counts, or weight totals
    out = {"n": n, "loss": counts * value[0, 0] + (total[-1] - counts) * value[0, 1],
           "grad": sums * d1[0, 0] + (total - sums) * d1[0, 1]}
    if gram is not None:
        out["hess"] = [gram * d2[0]] * len(sums)
    return out


class OneVsRest:
    """K binary descent solvers (``method``: newton, lbfgs or gd), one per class against
    the rest, advanced in the same passes.

    A pass evaluates the candidates of every problem not yet done, stacked (the objective
    pass's ``problems`` names each one's class); each problem takes its own part of the
    record, with its own line search and stopping rule, and drops out when it stops. The
    run ends when all have: its passes are those of the slowest problem.
    """

    name = "ovr"

    def __init__(self, n_params, tol=1e-8, method="newton", classes=(), **options):
        self.n_params, self.tol, self.method, self.classes = n_params, tol, method, list(classes)
        self.options = options
        p = n_params // len(self.classes)
        self.problems = [SOLVERS[method](p, tol, **options) for _ in self.classes]
        self.job = self.problems[0].job
        self.order = self.problems[0].order

    @property
    def done(self):
        return all(s.done for s in self.problems)

    @property
    def stop_reason(self):
        if not self.done:
            return None
        reasons = sorted({s.stop_reason for s in self.problems})
        return "all %d one-vs-rest problems stopped (%s)" % (len(self.problems),
                                                              "; ".join(reasons))

    def _active(self):
        return [(k, s) for k, s in enumerate(self.problems) if not s.done]

    def pass_params(self):
        thetas, problems, hess_at = [], [], []
        for k, solver in self._active():
            hess_at.append(len(thetas))
            candidates = solver.candidates().tolist()
            thetas += candidates
            problems += [k] * len(candidates)
        params = {"loss": self.options["loss"], "thetas": thetas, "order": self.order,
                  "multiclass": "ovr", "classes": self.classes, "problems": problems}
        if self.order >= 2:
            params["hess_at"] = hess_at
        return params

    def update(self, record):
        start, accepted, candidates = 0, [], 0
        for j, (k, solver) in enumerate(self._active()):
            m = len(solver.candidates())
            part = {"n": record["n"], "loss": record["loss"][start:start + m],
                    "grad": record["grad"][start:start + m]}
            if "weight_sum" in record:
                part["weight_sum"] = record["weight_sum"]
            if "hess" in record:
                part["hess"] = record["hess"][j]
            accepted.append(solver.update(part)["accepted"])
            start, candidates = start + m, candidates + m
        g = np.concatenate([s.g for s in self.problems])
        return {"objective": self.objective(), "grad_norm": float(np.linalg.norm(g)),
                "accepted": all(accepted), "candidates": candidates,
                "active": sum(not s.done for s in self.problems)}

    def objective(self):
        """The sum of the K problems' objectives."""
        return float(sum(s.f for s in self.problems))

    def model_fields(self):
        rows = np.array([s.x for s in self.problems])
        return {"coef": rows[:, :-1].tolist(), "intercept": rows[:, -1].tolist(),
                "objective": self.objective(), "objectives": [s.f for s in self.problems]}

    def state(self):
        return {"name": self.name, "n_params": self.n_params, "tol": self.tol,
                "options": dict(self.options, method=self.method, classes=self.classes),
                "problems": [s.state() for s in self.problems]}

    def _load(self, state):
        self.problems = [restore_solver(s) for s in state["problems"]]


def solver_method(solver):
    """The descent method a (possibly multiclass) solver uses, for the model file."""
    return getattr(solver, "method", solver.name)


def check_classes(config, labels, max_labels):
    """The sorted classes (ints where integral) of a multiclass run from the distinct
    ``labels`` of the first pass; MrlearnError when there are too many or too few."""
    if len(labels) > max_labels:
        raise MrlearnError("more than %d distinct labels in column %d: is --label-col the "
                           "label?" % (max_labels, config.label_col))
    if len(labels) < 2 and config.multiclass != "auto":
        raise MrlearnError("%s needs at least two classes in column %d; found %s. Check "
                           "--label-col." % (config.algo, config.label_col,
                                             ", ".join("%g" % v for v in labels)))
    return [int(v) if float(v).is_integer() else float(v) for v in sorted(labels)]
