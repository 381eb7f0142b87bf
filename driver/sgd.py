"""Stochastic solvers: distributed mini-batch SGD and iterative parameter mixing.

``sgd``: each pass samples ``batch_fraction`` of the rows (a hash of seed, pass and row,
so the sample does not depend on the splits), returns their gradient sum and the full
objective at the current model; the driver takes one step with a scikit-learn-named
learning-rate schedule (``--average`` keeps the running mean of the iterates).

``mixing`` (McDonald et al. 2010; ``--max-iter 1`` is one-shot averaging, Zinkevich et
al. 2010): each mapper runs ``local_epochs`` of mini-batch SGD over its split from the
current model; the row-weighted average of the local models is the next model.

Both report, per pass, the objective of the model the pass *started from* (measured on the
rows it reads anyway); so ``objective`` in the model file is that of the model before the
last update.
"""
import numpy as np

from driver.solvers import total_weight
from jobs.mixing_pass import MRMixingPass
from jobs.sgd import from_exact, regularized_gradient, sgd_step
from jobs.sgd_pass import MRSGDPass

DEFAULTS = {"batch_fraction": 0.1, "schedule": None, "eta0": None, "power_t": 0.5,
            "average": False, "local_epochs": 1, "batch_size": 32, "seed": 0}


def _objective(loss_sum, n, theta, l2):
    w = theta[:-1]
    return float(loss_sum / n + 0.5 * l2 * (w @ w))


class _StochasticSolver:
    """Shared state and JSON handling; subclasses define the pass and the update."""

    STATE = ("theta", "step", "f", "done", "stop_reason", "adagrad_sum", "average_theta")

    def __init__(self, n_params, tol, loss, l2, **options):
        opts = dict(DEFAULTS)
        opts.update({k: v for k, v in options.items() if k in DEFAULTS and v is not None})
        if opts["schedule"] is None:
            opts["schedule"] = "optimal" if l2 > 0 else "invscaling"
        if opts["eta0"] is None:
            opts["eta0"] = self.DEFAULT_ETA0
        self.n_params, self.tol = n_params, tol
        self.options = dict(opts, loss=loss, l2=l2)
        self.theta = np.zeros(n_params)
        self.step, self.f = 0, None
        self.done, self.stop_reason = False, None
        self.adagrad_sum = self.average_theta = None

    def _measured(self, objective):
        """Record the objective at the pass's starting model; stop when it no longer moves."""
        before, self.f = self.f, objective
        if before is not None and abs(before - objective) <= self.tol * max(abs(before), 1e-300):
            self.done, self.stop_reason = True, "converged"

    def pass_params(self):
        """What every stochastic pass needs; subclasses add theirs (:meth:`own_params`)."""
        o = self.options
        return dict({"loss": o["loss"], "theta": self.theta.tolist(), "seed": o["seed"],
                     "pass_index": self.step + 1}, **self.own_params())

    def model_fields(self):
        theta = self.average_theta if self.average_theta is not None else self.theta
        return {"coef": np.asarray(theta)[:-1].tolist(), "intercept": float(theta[-1]),
                "objective": self.f}

    def state(self):
        out = {"name": self.name, "n_params": self.n_params, "tol": self.tol,
               "options": self.options}
        for key in self.STATE:
            value = getattr(self, key)
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def _load(self, state):
        for key in self.STATE:
            value = state[key]
            setattr(self, key, np.asarray(value) if isinstance(value, list) else value)


class SGDSolver(_StochasticSolver):
    """Distributed mini-batch SGD, one step per pass."""

    name = "sgd"
    job = MRSGDPass
    DEFAULT_ETA0 = 0.3

    def own_params(self):
        return {"batch_fraction": self.options["batch_fraction"]}

    def update(self, record):
        o = self.options
        weighted = "weight_exact" in record
        total = from_exact([record["weight_exact"]])[0] if weighted else record["n"]
        sample = (from_exact([record["sample_weight_exact"]])[0] if weighted
                  else record["sample_n"])
        objective = _objective(from_exact([record["loss_exact"]])[0], total, self.theta, o["l2"])
        grad = regularized_gradient(from_exact(record["sample_grad_exact"]), sample,
                                    self.theta.copy(), o["l2"])
        self.theta, self.adagrad_sum = sgd_step(self.theta, grad, self.step, o, self.adagrad_sum)
        self.step += 1
        if o["average"]:
            previous = self.theta if self.average_theta is None else self.average_theta
            self.average_theta = previous + (self.theta - previous) / self.step
        self._measured(objective)
        return {"objective": objective, "grad_norm": float(np.linalg.norm(grad)),
                "sample": record["sample_n"]}


class MixingSolver(_StochasticSolver):
    """Iterative parameter mixing: local SGD epochs per split, then the weighted average."""

    name = "mixing"
    job = MRMixingPass
    DEFAULT_ETA0 = 0.003

    def own_params(self):
        return {"options": {k: self.options[k] for k in (
            "local_epochs", "batch_size", "schedule", "eta0", "power_t", "l2")}}

    def update(self, record):
        objective = _objective(record["loss"][0], total_weight(record), self.theta,
                               self.options["l2"])
        new = np.asarray(record["weighted_theta"], dtype=np.float64) / total_weight(record)
        shift = float(np.linalg.norm(new - self.theta))
        self.theta, self.step = new, self.step + 1
        self._measured(objective)
        return {"objective": objective, "center_shift": shift}
