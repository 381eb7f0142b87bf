"""Solvers: turn the record of one pass into the next model, without touching data.

Parameters are ``theta = [w, b]`` (coefficients, then the unpenalized intercept), shape
``(p,) = (d + 1,)``. The objective is ``F(theta) = loss_sum / n + l2 / 2 * ||w||^2``; with
row weights ``loss_sum`` is the weighted sum and ``n`` the total weight (the record's
``weight_sum``): scikit-learn's objective with ``sample_weight``, for ``C = 1 / (l2 n)``.
A multinomial model (option ``classes``, K sorted labels) has K such rows, flattened class
after class: ``(K (d + 1),)``, with the K intercepts unpenalized.

A descent solver proposes a few *candidate* points ``x + t * d`` for one direction
``d`` and several trial step sizes ``t``; the next pass evaluates the loss (and the
gradient) at all of them, and :meth:`DescentSolver.update` keeps the best one that
decreases the objective enough (Armijo). So the line search costs no extra passes: the
pass that tries the steps also delivers the gradient at the step taken (and Newton's
Hessian at the longest step, see :class:`Newton`).

All solver state is JSON: ``state()`` and ``restore_solver`` round-trip it exactly (floats are written with ``repr``), which is what makes a resumed
run end with the same model as an uninterrupted one.
"""
import numpy as np

from driver.cv import path_and_cv
from driver.least_squares import elastic_net, solve_least_squares
from jobs.giant_pass import MRGiantPass
from jobs.objective_pass import MRObjectivePass
from jobs.qr_pass import MRQRPass
from jobs.records import to_json

ARMIJO = 1e-4
DAMPING = 1e-10
"""Proximal Newton's metric is the Hessian plus this much of its mean diagonal."""
ROUNDING = 64 * np.finfo(float).eps
"""Relative objective changes this small are rounding, not progress."""
LBFGS_MEMORY = 10


def regularized(record, thetas, l2, order, n_rows=1):
    """Objective terms from a pass record over the candidates ``thetas`` (m, p).

    Returns ``(terms, H)``: ``terms`` a list of ``(F, G)`` per candidate, objective value
    and gradient (p,) (None when ``order < 1``); ``H`` the one Hessian (p, p) of the
    record when ``order == 2``, else None. All are divided by ``n`` (the total weight
    ``weight_sum`` of weighted rows) and include the ridge term ``l2 / 2 * ||w||^2`` (the intercepts, the last of each of the ``n_rows`` rows
    ``[w, b]`` of a candidate, are not penalized).
    """
    n = total_weight(record)
    thetas = np.atleast_2d(thetas)
    penalized = penalized_mask(thetas.shape[1], n_rows).astype(np.float64)
    terms = []
    for j, theta in enumerate(thetas):
        w = theta * penalized
        F = record["loss"][j] / n + 0.5 * l2 * float(w @ w)
        G = np.asarray(record["grad"][j]) / n + l2 * w if order >= 1 else None
        terms.append((F, G))
    H = np.asarray(record["hess"]) / n + l2 * np.diag(penalized) if order >= 2 else None
    return terms, H


def penalized_mask(n_params, n_rows=1):
    """Which of ``n_params`` parameters a penalty holds (bool): all but the intercept, the
    last of each of the ``n_rows`` rows ``[w, b]``."""
    mask, row = np.ones(n_params, dtype=bool), n_params // n_rows
    mask[row - 1::row] = False
    return mask


def total_weight(record):
    """What a pass record's sums are normalized by: its ``weight_sum`` when rows are
    weighted, else its row count ``n``."""
    return record.get("weight_sum", record["n"])


class DescentSolver:
    """Line-search descent over candidates evaluated in the same pass.

    Subclasses give :meth:`direction` and :meth:`trial_steps`; ``order`` is the
    derivative order the passes must compute (1: gradient, 2: + Hessian).
    """

    name = None
    order = 1
    AT_OPTIMUM = "gradient is zero"
    """The stop reason when :meth:`optimality` is zero (to 1e-14)."""
    SCALARS = ("f", "steps", "step", "done", "stop_reason")
    ARRAYS = ("x", "g", "H", "d")

    job = MRObjectivePass

    def __init__(self, n_params, tol=1e-8, **options):
        """``options``: ``loss`` (a kernel loss name), ``l2``, and ``step_size`` for gd."""
        self.x = None
        self.x0 = np.zeros(n_params)
        self.f = self.g = self.H = self.d = None
        self.steps = [0.0]
        self.step = None          # last accepted step size
        self.tol = tol
        self.done = False
        self.stop_reason = None
        self.options = options

    # --- the pass loop's interface ------------------------------------------------------

    def candidates(self):
        """The points (m, p) the next pass must evaluate."""
        if self.x is None:
            return self.x0[None, :]
        return np.array([self.x + t * self.d for t in self.steps])

    def pass_params(self):
        """What the next :class:`MRObjectivePass` must compute."""
        params = {"loss": self.options["loss"], "thetas": self.candidates().tolist(),
                  "order": self.order}
        if "classes" in self.options:
            params.update(multiclass="multinomial", classes=self.options["classes"])
        return params

    def update(self, record):
        """Take the record of the pass over :meth:`candidates`; returns history info.

        The direction is computed once per accepted step (convergence tests use it); a
        pass that accepts no step keeps it and tries shorter steps along it.
        """
        candidates = self.candidates()
        terms, H = self._terms(record, candidates)
        f_before = self.f
        if self.steps == [0.0]:  # a pass at the current point only: the first, or Newton's
            chosen, step = 0, 0.0  # for the Hessian there after a shorter step
        else:
            chosen = self._choose(terms)
            step = self.steps[chosen] if chosen is not None else 0.0
        if chosen is None:
            self._shrink_steps()
        else:
            self._accept(candidates[chosen], terms[chosen], H, step)
            self.d = self.direction()
            self._check_convergence(f_before)
            if not self.done:
                self.steps = self.trial_steps()
        return {"objective": self.f, "grad_norm": float(np.linalg.norm(self.optimality())),
                "step": step, "accepted": chosen is not None, "candidates": len(terms)}

    def _terms(self, record, candidates):
        """``(terms, H)`` of :func:`regularized` for this solver's objective."""
        return regularized(record, candidates, self._ridge(), self.order, self._rows())

    def _ridge(self):
        """The coefficient of the ridge term ``|w|^2 / 2``."""
        return self.options["l2"]

    def _rows(self):
        """Rows ``[w, b]`` of a parameter vector: K classes of a multinomial model, else 1."""
        return len(self.options.get("classes", [0]))

    def optimality(self, x=None, g=None):
        """The vector that is zero at the optimum (p,), at ``x`` with gradient ``g``
        (default: the current point): the gradient."""
        return self.g if g is None else g

    def model_fields(self):
        if "classes" in self.options:
            rows = self.x.reshape(len(self.options["classes"]), -1)
            return {"coef": rows[:, :-1].tolist(), "intercept": rows[:, -1].tolist(),
                    "objective": self.f}
        return {"coef": self.x[:-1].tolist(), "intercept": float(self.x[-1]),
                "objective": self.f}

    # --- the line search ------------------------------------------------------------------

    def _choose(self, terms):
        """Index of the candidate to accept, or None if none decreases the objective."""
        values = [F for F, _ in terms]
        armijo = [j for j, F in enumerate(values) if self._sufficient(j, F)]
        pool = armijo or [j for j, F in enumerate(values) if F < self.f]
        if not pool:
            return None
        return min(pool, key=lambda j: values[j])

    def slope(self):
        """The objective's directional derivative along ``d`` (Armijo's rule)."""
        return float(self.g @ self.d)

    def _sufficient(self, j, F):
        """Armijo's test of trial step ``j`` with objective ``F``: a decrease of at least
        ARMIJO times the one the slope predicts."""
        return F <= self.f + ARMIJO * self.steps[j] * self.slope()

    def _accept(self, x, term, H, step):
        """Move to ``x`` with its ``(F, G)``; ``H`` is the pass's Hessian (or None)."""
        self.x = x
        self.f, self.g = term
        self.H = H
        self.step = step

    def _shrink_steps(self):
        smallest = min(self.steps)
        self.steps = [smallest * 0.5 ** k for k in range(1, 5)]
        scale = np.linalg.norm(self.d) * max(self.steps)
        if scale <= 1e-14 * (1.0 + np.linalg.norm(self.x)):
            self._stop("no step along the direction decreases the objective")

    def _check_convergence(self, f_before):
        if float(np.max(np.abs(self.optimality()))) <= 1e-14:
            self._stop(self.AT_OPTIMUM)
        elif f_before is not None and self.converged(f_before):
            self._stop("converged")

    def converged(self, f_before):
        """Relative objective change of the last step at most ``tol``."""
        return abs(f_before - self.f) <= self.tol * max(abs(f_before), abs(self.f), 1e-300)

    def _stop(self, reason):
        self.done = True
        self.stop_reason = reason

    # --- what subclasses give --------------------------------------------------------------

    def direction(self):
        raise NotImplementedError

    def trial_steps(self):
        raise NotImplementedError

    # --- JSON state -------------------------------------------------------------------------

    def state(self):
        """Everything needed to continue: plain JSON types."""
        out = {"name": self.name, "n_params": len(self.x0), "x0": self.x0.tolist(),
               "tol": self.tol, "options": self.options}
        for key in self.SCALARS:
            out[key] = getattr(self, key)
        for key in self.ARRAYS:
            value = getattr(self, key)
            out[key] = None if value is None else np.asarray(value).tolist()
        return out

    def _load(self, state):
        for key in self.SCALARS:
            setattr(self, key, state[key])
        self.x0 = np.asarray(state["x0"], dtype=np.float64)
        for key in self.ARRAYS:
            value = state[key]
            setattr(self, key, None if value is None else np.asarray(value, dtype=np.float64))


class Newton(DescentSolver):
    """Newton / IRLS with the Hessian sums; stops on scikit-learn's rule for its Newton
    solvers.

    **One Hessian per pass.** A pass evaluates loss and gradient at the trial steps
    ``x + t d`` (``t`` = 1, 1/2, 1/4, 1/8; after a pass that accepts none, the next four
    halvings), but the Hessian only at the longest one, candidate 0 (``hess_at``): which
    step is accepted is known only after the pass, and near the optimum (and in nearly
    every pass before) it is the full Newton step, so the Hessian is the one at the point
    the solver steps from. When a shorter step is accepted, the next pass evaluates that
    point alone for its Hessian (as the first pass does at ``x0``), and the search goes
    on exactly as Newton. (Using the longest step's Hessian as the metric there instead
    saves that pass when it works, but on the squared hinge, whose Hessian jumps at the
    kinks, it took up to 4x the passes.)

    **Stopping** (scikit-learn's ``NewtonSolver.check_convergence``, with its absolute
    ``tol`` made relative to the objective ``f0`` at the starting point, so the rule does
    not depend on the units of the labels): stop when ``max |g| <= tol * |f0|`` and half
    the Newton decrement, ``g^T H^-1 g / 2`` (the estimated gap to the optimum), is
    ``<= tol * |f0|``. A fixed threshold, not one relative to the current objective:
    near-zero objectives (separable data, tiny ``l2``) stop as soon as the model is within
    ``tol`` of the optimum instead of chasing ever smaller relative changes.
    """

    name = "newton"
    order = 2
    SCALARS = DescentSolver.SCALARS + ("f0",)

    def __init__(self, n_params, tol=1e-8, **options):
        super().__init__(n_params, tol, **options)
        self.f0 = None            # objective at the starting point
        self.exact = True         # whether the accepted point is the one H was summed at

    def pass_params(self):
        return dict(super().pass_params(), hess_at=0)

    def _accept(self, x, term, H, step):
        if self.f0 is None:
            self.f0 = term[0]
        self.exact = step == self.steps[0]  # H is the Hessian at x
        super()._accept(x, term, H, step)

    def direction(self):
        H, g = self.H, self.g
        flat = self._flat_directions()
        if flat is not None:
            H = H + np.trace(H) / len(H) * (flat @ flat.T)
        try:
            return -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return -np.linalg.lstsq(H, g, rcond=None)[0]

    def _flat_directions(self):
        """Orthonormal columns (p, r) along which a multinomial objective is constant, or
        None: adding one number to every intercept (the softmax is shift invariant), and
        with ``l2 = 0`` one vector to every coefficient row.

        The Hessian is singular along them; since the gradient is orthogonal to them (its
        K rows sum to zero), ``H + s N N^T`` (``s`` the mean of H's diagonal) gives the
        minimum-norm Newton direction, orthogonal to them too: the iterates keep rows
        that sum to zero, scikit-learn's symmetric parameterization (and its intercepts,
        which sum to zero too).
        """
        if "classes" not in self.options:
            return None
        K = len(self.options["classes"])
        p = len(self.x0) // K
        shared = np.eye(p) if self.options["l2"] == 0 else np.eye(p)[:, -1:]
        return np.kron(np.ones((K, 1)), shared) / np.sqrt(K)

    def _choose(self, terms):
        """The longest trial step that passes Armijo's test (backtracking's choice): near
        the optimum the trial objectives differ by rounding only, and the full step is
        the one whose Hessian the pass summed. Else the lowest objective below ``f``."""
        for j, (F, _) in enumerate(terms):
            if self._sufficient(j, F):
                return j
        return self._choose_by_gradient(terms)

    def _choose_by_gradient(self, terms):
        """When no trial step passes Armijo's test because the objective changes by
        rounding only, the longest whose optimality measure (1-norm) is smaller than at
        ``x`` (scikit-learn's NewtonSolver does the same), else the lowest objective."""
        now = np.abs(self.optimality()).sum()
        for j, (F, G) in enumerate(terms):
            x = self.x + self.steps[j] * self.d
            if (abs(F - self.f) <= ROUNDING * abs(self.f)
                    and np.abs(self.optimality(x, G)).sum() < now):
                return j
        return super()._choose(terms)

    def trial_steps(self):
        """The Newton step and 3 halvings; after a shorter step than the one whose
        Hessian the pass summed, the current point alone (its Hessian, for the direction)."""
        return [1.0, 0.5, 0.25, 0.125] if self.exact else [0.0]

    def converged(self, f_before):
        if not self.exact:
            return False  # the next pass, with the Hessian at x, decides
        threshold = self.tol * abs(self.f0)
        half_decrement = -0.5 * self.slope()
        return (float(np.max(np.abs(self.optimality()))) <= threshold
                and half_decrement <= threshold)


class ElasticNetTerms:
    """The L1 term of an elastic net, for a descent solver whose options hold ``l2`` (the
    penalty lambda) and ``l1_ratio`` (r): the smooth part ``loss_sum / n + l2 (1 - r) / 2
    |w|^2`` is :func:`regularized`'s, the term ``l2 r |w|_1`` is added here; intercepts
    (the last parameter of each of a multinomial model's rows) are not penalized."""

    AT_OPTIMUM = "optimality conditions hold"

    def _l1(self):
        return self.options["l2"] * self.options["l1_ratio"]

    def _ridge(self):
        return self.options["l2"] * (1.0 - self.options["l1_ratio"])

    def _penalized(self):
        return penalized_mask(len(self.x0), self._rows())

    def _l1_norm(self, x):
        return float(np.abs(x[self._penalized()]).sum())

    def _terms(self, record, candidates):
        terms, H = super()._terms(record, candidates)
        l1 = [self._l1() * self._l1_norm(x) for x in np.atleast_2d(candidates)]
        return [(F + a, G) for (F, G), a in zip(terms, l1)], H

    def optimality(self, x=None, g=None):
        """The minimum-norm subgradient of the objective (Andrew & Gao's pseudo-gradient)
        at ``x`` with smooth gradient ``g``: zero exactly at the optimum."""
        g = np.array(self.g if g is None else g, dtype=np.float64)
        x = self.x if x is None else x
        l1, pen = self._l1(), self._penalized()
        w, gw = x[pen], g[pen]
        g[pen] = np.where(w != 0, gw + l1 * np.sign(w),
                          np.sign(gw) * np.maximum(np.abs(gw) - l1, 0.0))
        return g

    def n_nonzero(self):
        return int(np.count_nonzero(self.x[self._penalized()]))

    def model_fields(self):
        return dict(super().model_fields(), n_nonzero=self.n_nonzero())

    def update(self, record):
        info = super().update(record)
        info["n_nonzero"] = self.n_nonzero()
        return info


class ProximalNewton(ElasticNetTerms, Newton):
    """Elastic net by proximal Newton, as glmnet and newGLMNET solve it (Friedman, Hastie &
    Tibshirani 2010; Yuan, Ho & Lin 2012): objective ``F = loss_sum / n + l2 ((1 - r) / 2
    |w|^2 + r |w|_1)``, ``r`` the option ``l1_ratio`` (scikit-learn's
    ``LogisticRegression(penalty='elasticnet', C=1 / (l2 n), l1_ratio=r)``).

    Each pass gives the smooth part's gradient ``g`` and Hessian ``H`` at ``x`` (the ridge
    term included); the direction minimizes the quadratic model plus the L1 term,
    ``g.d + d^T H d / 2 + l2 r |w + d_w|_1``, exactly (:func:`lasso_quadratic`: a few
    sweeps of coordinate descent, then the feature-sign search). The trial steps are
    Newton's, accepted by Armijo's rule on ``F`` with the slope ``g.d + l2 r (|w + d_w|_1 -
    |w|_1)`` (Tseng & Yun 2009). Coefficients the model zeroes are exact zeros at the full
    step. Stops on Newton's rule with the gradient replaced by the minimum-norm
    subgradient (:meth:`optimality`) and the decrement by that slope.
    """

    name = "proximal_newton"

    def slope(self):
        return float(self.g @ self.d) + self._l1() * (self._l1_norm(self.x + self.d)
                                                      - self._l1_norm(self.x))

    def direction(self):
        """The minimizer of the quadratic model plus the L1 term, minus ``x``. A multinomial
        model's Hessian is singular along a shift of every intercept (the softmax does not
        see it): as :meth:`Newton.direction`, that direction is given curvature, so the
        intercepts keep summing to zero. ``H`` is damped by :data:`DAMPING` times its mean
        diagonal (the softmax is flat along a shift of every coefficient too, which only
        the L1 term sees): the method's fixed points, the optima, do not depend on it."""
        mean_curvature = np.trace(self.H) / len(self.H)
        H = self.H + DAMPING * mean_curvature * np.eye(len(self.H))
        flat = self._flat_directions()
        if flat is not None:
            H = H + mean_curvature * (flat @ flat.T)
        return lasso_quadratic(H, self.g - H @ self.x, self._l1(), self._penalized(),
                               self.x) - self.x

    def _flat_directions(self):
        """Only the intercepts' shift: the L1 term sees a shift of the coefficients."""
        if "classes" not in self.options:
            return None
        K = len(self.options["classes"])
        return np.kron(np.ones((K, 1)), np.eye(len(self.x0) // K)[:, -1:]) / np.sqrt(K)


def lasso_quadratic(H, c, l1, penalized, start, sweeps=20):
    """``argmin_u q(u) = c.u + u^T H u / 2 + l1 |u[penalized]|_1`` for a symmetric positive
    definite ``H`` (p, p), ``c`` (p,), ``penalized`` (p,) bool, from ``start`` (p,).

    A few sweeps of cyclic coordinate descent find the support and signs roughly; the
    feature-sign search (Lee, Battle, Raina & Ng 2006) then finishes exactly: solve the
    quadratic on the support with the L1 term linear in its signs; where the solution
    would flip a sign, go to the best point of the segment instead (a coefficient that
    crosses zero leaves the support); when the signs hold, add the zero coordinate that
    violates the optimality condition ``|c_j + H_j u| <= l1`` most, until none does. Each
    step lowers ``q``, so it ends (coordinate descent alone crawls when one-hot columns and
    the intercept are nearly collinear).
    """
    u = np.array(start, dtype=np.float64)
    diag = np.diag(H)
    threshold = np.where(penalized, l1, 0.0)
    for _ in range(sweeps):
        for j in np.flatnonzero(diag > 0):
            r = c[j] + H[j] @ u - diag[j] * u[j]
            u[j] = -np.sign(r) * max(abs(r) - threshold[j], 0.0) / diag[j]
    return _feature_sign(H, c, threshold, u)


def _feature_sign(H, c, threshold, u, max_steps=None):
    """The feature-sign search of :func:`lasso_quadratic` from ``u``."""
    free, signs = threshold == 0, np.sign(u)
    scale = max(np.abs(c).max(), threshold.max(), 1e-300)

    def q(v):
        return float(c @ v + 0.5 * v @ H @ v + threshold @ np.abs(v))

    settled = False
    for _ in range(max_steps or 10 * len(u) + 10):
        if settled:
            grad = c + H @ u
            zero = ~free & (u == 0)
            violation = np.where(zero, np.abs(grad) - threshold, -np.inf)
            if not zero.any() or violation.max() <= 1e-12 * scale:
                return u
            worst = int(np.argmax(violation))
            signs[worst] = -np.sign(grad[worst])
        S = np.flatnonzero(free | (signs != 0))
        try:
            target = -np.linalg.solve(H[np.ix_(S, S)], c[S] + threshold[S] * signs[S])
        except np.linalg.LinAlgError:
            target = -np.linalg.lstsq(H[np.ix_(S, S)], c[S] + threshold[S] * signs[S],
                                      rcond=None)[0]
        flips = ~free[S] & (np.sign(target) != signs[S])
        settled = not flips.any()
        if settled:
            u = np.zeros_like(u)
            u[S] = target
            continue
        delta = target - u[S]
        crossing = ~free[S] & (u[S] != 0) & (np.sign(u[S] + delta) != np.sign(u[S]))
        steps = np.append(-u[S][crossing] / delta[crossing], 1.0)
        points = []
        for t in steps:
            v = u.copy()
            v[S] = u[S] + t * delta
            v[S[crossing]] = np.where(steps[:-1] == t, 0.0, v[S[crossing]])  # on zero exactly
            points.append(v)
        u = min(points, key=q)
        signs = np.where(free, 0.0, np.sign(u))
    return u


class LBFGS(DescentSolver):
    """Limited-memory BFGS (memory 10) on gradient sums; stops on the relative decrease."""

    name = "lbfgs"
    ARRAYS = DescentSolver.ARRAYS + ("S", "Y")

    def __init__(self, n_params, tol=1e-8, **options):
        super().__init__(n_params, tol, **options)
        self.S = self.Y = None

    def _accept(self, x, term, H, step):
        x_prev, g_prev = self.x, self.g
        super()._accept(x, term, H, step)
        if x_prev is None:
            return
        s, y = x - x_prev, self.g - g_prev
        if float(s @ y) > 1e-12 * float(s @ s):
            S = [] if self.S is None else list(self.S)
            Y = [] if self.Y is None else list(self.Y)
            self.S = np.array((S + [s])[-LBFGS_MEMORY:])
            self.Y = np.array((Y + [y])[-LBFGS_MEMORY:])

    def direction(self):
        return -self._two_loop(self.g)

    def _two_loop(self, q):
        """The inverse-Hessian approximation times ``q`` (p,) (the two-loop recursion;
        ``q`` itself before the first pair)."""
        q = np.array(q, dtype=np.float64)
        if self.S is None:
            return q
        alphas = []
        for s, y in zip(self.S[::-1], self.Y[::-1]):
            a = float(s @ q) / float(y @ s)
            q -= a * y
            alphas.append(a)
        s, y = self.S[-1], self.Y[-1]
        r = q * (float(s @ y) / float(y @ y))
        for (s, y), a in zip(zip(self.S, self.Y), alphas[::-1]):
            b = float(y @ r) / float(y @ s)
            r += s * (a - b)
        return r

    def trial_steps(self):
        if self.S is None:
            scale = 1.0 / max(np.linalg.norm(self.g), 1e-300)
            return [scale * t for t in (10.0, 1.0, 0.1, 0.01)]
        return [1.0, 0.5, 0.25, 0.1]


class OWLQN(ElasticNetTerms, LBFGS):
    """Elastic net for wide data: orthant-wise limited-memory quasi-Newton (Andrew & Gao
    2007), the method of Spark MLlib's elastic net, on gradient sums alone.

    L-BFGS on the smooth part (pairs from its gradients), steered by the pseudo-gradient
    ``v`` (:meth:`optimality`): the direction is the two-loop product with ``-v``, zeroed
    where it disagrees in sign with ``-v``; every trial point is projected onto the orthant
    of the current point (a zero coefficient takes the sign of ``-v``), so coefficients
    that would cross zero stop at exactly zero. Armijo's test uses ``v . (x_t - x)``.
    """

    name = "owlqn"

    def direction(self):
        v = self.optimality()
        d = -self._two_loop(v)
        d[np.sign(d) != np.sign(-v)] = 0.0
        return d

    def candidates(self):
        if self.x is None:
            return self.x0[None, :]
        return np.array([self._projected(t) for t in self.steps])

    def _projected(self, step):
        """``x + step d`` with every penalized coordinate that leaves the orthant of ``x``
        (a zero one: of ``-v``) set to zero."""
        point, pen = self.x + step * self.d, self._penalized()
        orthant = np.where(self.x != 0, np.sign(self.x), np.sign(-self.optimality()))
        point[pen & (np.sign(point) != orthant)] = 0.0
        return point

    def _sufficient(self, j, F):
        """Armijo's test with the pseudo-gradient and the projected point's move."""
        move = self._projected(self.steps[j]) - self.x
        return F <= self.f + ARMIJO * float(self.optimality() @ move)

    def trial_steps(self):
        if self.S is None:
            scale = 1.0 / max(np.linalg.norm(self.optimality()), 1e-300)
            return [scale * t for t in (10.0, 1.0, 0.1, 0.01)]
        return super().trial_steps()



GIANT_STEPS = (1.0, 0.5, 0.25, 0.1)
"""Trial steps along GIANT's direction; the gradient comes with the first (the Newton
step), the others are evaluated through margins (:func:`jobs.kernels.line_sums`)."""


GIANT_MAX_RATIO = 0.5
"""GIANT falls back to L-BFGS when a step decreases the objective by more than this
fraction of the step before: two passes for a contraction L-BFGS may reach in one or
two. Measured on rcv1-like data with 10^5 rows a split, the ratio is 0.002-0.02; with a
few hundred rows a split for 10^3 features, 0.3-0.6."""


class Giant(LBFGS):
    """GIANT (Wang, Roosta, Xu, Mahoney 2018): a Newton-type method whose passes hold no
    d x d matrix, for wide data. Each iteration is two passes:

    - a *direction* pass (:class:`jobs.giant_pass.MRGiantPass`): at ``x``, with the
      whole objective's gradient ``g``, every split solves its own Newton system
      ``H_i p_i = g`` by conjugate gradients (its rows' Hessian plus the ridge); the
      direction is ``d = -sum W_i p_i / sum W_i``, a descent direction;
    - a *step* pass: the objective at ``x + t d`` for :data:`GIANT_STEPS` through margins,
      and the gradient at the unit step, which the next direction pass needs.

    The direction passes also correct each split's Hessian diagonal up to the whole
    data's (:func:`jobs.kernels.newton_direction_sums`), which the step passes deliver.

    Guard: when the unit step fails Armijo's test, or decreases the objective by more
    than :data:`GIANT_MAX_RATIO` of the previous step's decrease (the splits' Hessians are
    poor stand-ins for the whole one: too few rows for the features they see), the fit
    falls back to L-BFGS from there for good (its memory already holds GIANT's steps).
    If the unit step decreased the objective most, it is kept (its gradient is at hand);
    otherwise one pass evaluates the best trial step with its gradient (or shorter steps,
    if none decreased the objective), then L-BFGS passes follow.
    """

    name = "giant"
    SCALARS = LBFGS.SCALARS + ("phase", "decrease")
    ARRAYS = LBFGS.ARRAYS + ("diagonal",)
    PHASES = ("step", "direction", "lbfgs")

    def __init__(self, n_params, tol=1e-8, **options):
        super().__init__(n_params, tol, **options)
        self.phase = "step"
        self.decrease = None  # of the objective in the last GIANT step
        self.diagonal = None  # the data's mean Hessian diagonal at x (p,), without ridge

    @property
    def job(self):
        return MRGiantPass if self.phase == "direction" else MRObjectivePass

    def pass_params(self):
        if self.phase == "direction":
            return {"loss": self.options["loss"], "theta": self.x.tolist(),
                    "grad": self.g.tolist(), "diagonal": self.diagonal.tolist(),
                    "l2": self._ridge()}
        if self.phase == "lbfgs":
            return super().pass_params()
        if self.x is None:
            return dict(super().pass_params(), diagonal=True)
        return {"loss": self.options["loss"], "order": 1, "diagonal": True,
                "line": {"theta": self.x.tolist(), "direction": self.d.tolist(),
                         "steps": list(self.steps)}}

    def update(self, record):
        if self.phase == "direction":
            return self._take_direction(record)
        if self.phase == "lbfgs":
            return super().update(record)
        if self.x is None:
            info = super().update(record)
            self._take_diagonal(record)
            return info
        return self._take_step(record)

    def _take_diagonal(self, record):
        """Keep the record's Hessian diagonal (at the point just accepted) for the next
        direction pass, which is next."""
        self.diagonal = np.asarray(record["hess_diag"], dtype=np.float64) / total_weight(record)
        self.phase = "direction"

    def _take_direction(self, record):
        self.d = -np.asarray(record["direction_sum"], dtype=np.float64) / record["direction_weight"]
        self.phase, self.steps = "step", list(GIANT_STEPS)
        if not float(self.g @ self.d) < 0.0:  # rounding only: each split's step descends
            self._fall_back(None)
        return {"objective": self.f, "grad_norm": float(np.linalg.norm(self.g)), "step": 0.0,
                "accepted": False, "candidates": 0,
                "cg_iterations": record["cg_iterations_max"]}

    def _take_step(self, record):
        """Accept the unit step if Armijo's test passes; fall back to L-BFGS if it does
        not (also accepting the unit step, whose gradient is at hand, if it is the best
        decrease) or if GIANT converges slowly (:data:`GIANT_MAX_RATIO`)."""
        candidates = self.candidates()
        terms, _ = regularized(record, candidates, self._ridge(), 0)
        f_before, step, unit = self.f, self.steps[0], terms[0][0]
        armijo = self._sufficient(0, unit)
        chosen = 0 if armijo else self._choose(terms)
        info = {"step": step if chosen == 0 else 0.0, "accepted": chosen == 0,
                "candidates": len(terms)}
        if chosen != 0:
            self._fall_back(chosen)
            info["fallback"] = "no decrease at the unit step"
        else:
            slow = self.decrease is not None and f_before - unit > GIANT_MAX_RATIO * self.decrease
            (_, G), = regularized(record, candidates[:1], self._ridge(), 1)[0]
            self._accept(candidates[0], (unit, G), None, step)
            self.decrease = f_before - unit
            self._check_convergence(f_before)
            if armijo and not slow:
                self._take_diagonal(record)
            else:
                self.phase, self.d = "lbfgs", self.direction()
                self.steps = self.trial_steps()
                info["fallback"] = "slow convergence" if armijo else "unit step not Armijo"
        return dict({"objective": self.f, "grad_norm": float(np.linalg.norm(self.g))}, **info)

    def _fall_back(self, chosen):
        """Go on as L-BFGS along ``d``: the next pass evaluates trial step ``chosen``
        (known to decrease the objective) with its gradient, or shorter steps if None."""
        self.phase = "lbfgs"
        if chosen is None:
            self._shrink_steps()
        else:
            self.steps = [self.steps[chosen]]

    def _load(self, state):
        super()._load(state)
        if self.phase not in self.PHASES:
            raise ValueError("phase %r is not one of %s" % (self.phase, ", ".join(self.PHASES)))


class GradientDescent(DescentSolver):
    """Distributed (sub)gradient descent: backtracking by default, or a fixed step.

    Backtracking tries ``a * (2, 1, 1/2, 1/4)`` around the last accepted step ``a``
    (a wide grid on the first step) and never accepts an increase of the objective.
    With ``step_size`` set, every pass takes that step, whatever the objective does.
    """

    name = "gd"

    def direction(self):
        return -self.g

    def trial_steps(self):
        fixed = self.options.get("step_size")
        if fixed:
            return [fixed]
        if not self.step:
            return [10.0 ** -k for k in range(-1, 7)]
        return [self.step * t for t in (2.0, 1.0, 0.5, 0.25)]

    def _choose(self, terms):
        if self.options.get("step_size"):
            return 0
        return super()._choose(terms)


class NormalEquations:
    """Exact (ridge) least squares in one pass: the tall-skinny QR of ``[1, x, y]``
    (:mod:`jobs.qr_pass`, solved by :func:`driver.least_squares.solve_least_squares`).
    Keeps the pass's R factor (``rfactor``) for the summary's standard errors."""

    name = "normal"
    job = MRQRPass
    one_pass = True
    """Its one pass is all there is: nothing to parse once for (see driver.parse_once)."""

    def __init__(self, n_params, tol=None, **options):
        self.n_params, self.tol, self.options = n_params, tol, options
        self.theta = self.objective = self.rfactor = self.rank = None
        self.path = self.cv = None
        self.done = False
        self.stop_reason = None

    def pass_params(self):
        folds = self.options.get("folds")
        return {"folds": folds, "seed": self.options.get("seed", 0)} if folds else {}

    def update(self, record):
        if "fold_rfactors" in record or self.options.get("path"):
            return self._path(record)
        n, shift, R = record["design_rfactor"]
        self.rfactor = (n, np.asarray(shift), np.asarray(R))
        if self.options.get("l1_ratio"):
            self.theta, self.objective, sweeps = elastic_net(
                self.rfactor, self.options["l2"], self.options["l1_ratio"], total_weight(record))
            self.rank, grad_norm = None, 0.0
        else:
            self.theta, self.objective, self.rank, grad_norm = solve_least_squares(
                self.rfactor, self.options["l2"], total_weight(record))
        self.done, self.stop_reason = True, "exact solution"
        return {"objective": self.objective, "grad_norm": grad_norm, "step": 1.0,
                "accepted": True, "candidates": 0}

    def _path(self, record):
        """The path (``path``: lambdas or "auto") and, with ``folds``, its cross-validation,
        from the per-fold factors (:mod:`driver.cv`); the model takes lambda_min (with CV)
        or the smallest lambda."""
        if "fold_rfactors" in record:
            folds = [(n, np.asarray(s), np.asarray(R)) for n, s, R in record["fold_rfactors"]]
            totals = record.get("fold_weight_sums") or [f[0] for f in folds]
        else:
            n, shift, R = record["design_rfactor"]
            folds, totals = [(n, np.asarray(shift), np.asarray(R))], [total_weight(record)]
        lambdas = self.options["path"]
        self.path, self.cv, chosen = path_and_cv(
            folds, None if lambdas == "auto" else lambdas, self.options.get("l1_ratio", 0.0),
            totals)
        self.path["chosen"] = chosen
        self.theta = np.append(self.path["coef"][chosen], self.path["intercept"][chosen])
        self.objective, self.rank = self.path["objective"][chosen], None
        self.done, self.stop_reason = True, "exact solution"
        return {"objective": self.objective, "grad_norm": 0.0, "step": 1.0, "accepted": True,
                "candidates": len(self.path["lambdas"]) * (len(folds) + (len(folds) > 1))}

    def model_fields(self):
        fields = {"coef": self.theta[:-1].tolist(), "intercept": float(self.theta[-1]),
                  "objective": self.objective}
        if self.options.get("l1_ratio"):
            fields["n_nonzero"] = int(np.count_nonzero(self.theta[:-1]))
        if self.path:
            fields.update(path=self.path, l2=self.path["lambdas"][self.path["chosen"]])
            if self.cv:
                fields["cv"] = self.cv
        return fields

    def state(self):
        return {"name": self.name, "n_params": self.n_params, "tol": self.tol,
                "options": self.options, "done": self.done, "objective": self.objective,
                "theta": None if self.theta is None else self.theta.tolist(),
                "rank": self.rank, "path": self.path, "cv": self.cv,
                "rfactor": None if self.rfactor is None else to_json(self.rfactor)}

    def _load(self, state):
        self.done = state["done"]
        self.stop_reason = "exact solution" if self.done else None
        self.objective, self.rank = state["objective"], state["rank"]
        self.path, self.cv = state.get("path"), state.get("cv")
        self.theta = None if state["theta"] is None else np.asarray(state["theta"])
        self.rfactor = None if state["rfactor"] is None else (
            state["rfactor"][0], np.asarray(state["rfactor"][1]), np.asarray(state["rfactor"][2]))


SOLVERS = {cls.name: cls for cls in (Newton, ProximalNewton, LBFGS, OWLQN, Giant,
                                      GradientDescent, NormalEquations)}


def restore_solver(state, solvers=SOLVERS):
    """A solver in the state ``state()`` returned (``solvers``: name -> class)."""
    solver = solvers[state["name"]](state["n_params"], state["tol"], **state["options"])
    solver._load(state)
    return solver
