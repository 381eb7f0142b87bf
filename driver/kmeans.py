"""K-means: initialization in a few passes, then Lloyd passes, R restarts in the same passes.

Phases, one pass each step (``--init``):

- ``k-means||`` (default, Bahmani et al. 2012): pass 1 picks the first center (the row
  of smallest hash) and the column moments; passes 2-3 are oversampling rounds with
  ``ell = 2k``; pass 4 counts the rows nearest to each candidate; then weighted
  k-means++ and a local Lloyd refinement on the (about 4k) weighted candidates, in the
  driver. Four data passes; when the rounds find fewer than k distinct candidates (data
  of few distinct values), one k-means++ pick pass per missing candidate comes before
  pass 4.
- ``k-means++``: pass 1 as above, then one pass per further center (the exact,
  slow baseline: k passes).
- ``random``: pass 1 takes the k distinct rows of smallest hash (a uniform sample of k
  different rows; fewer than k distinct rows in the input is an error): one pass.

Duplicate rows: the hash of identical rows is identical, so the sampled choices draw among
distinct row *values* V, not rows (scikit-learn draws by row): the first center is each
value with probability 1/|V|; a k-means++ pick takes value v, at squared distance d_v to
the nearest center, with probability d_v / sum_{w in V} d_w (by row: m_v d_v / sum over
rows, m_v = rows holding v); k-means|| makes v a candidate with probability
min(1, ell d_v / cost), cost summed over all rows (by row: 1 - (1 - that)^m_v). Row counts
do weigh the candidates in k-means||' last step, and every Lloyd pass counts every row.

Row weights (``--weight-col``) weigh every draw as scikit-learn's ``sample_weight`` (the
first center and ``random`` by weight, k-means|| and k-means++ by weight times d2), the
candidates' weights, the Lloyd means and the inertia; the tolerance's feature variance
stays unweighted, as scikit-learn's.

Lloyd passes then assign rows to the nearest center and return per-cluster sums; a set
converges when its centers move less than ``tol * mean feature variance`` (squared shift
summed over centers, as scikit-learn).

Restarts (``--n-init``, default :data:`DEFAULT_N_INIT`) cost no passes of their own: every
pass advances every live set. The run stops when the live set of lowest inertia has
converged (the others, still moving, are at a higher inertia); from Lloyd pass
:data:`PRUNE_AFTER` on, a set whose inertia exceeds the best by more than
:data:`PRUNE_MARGIN` is dropped, and a pass evaluates only the sets neither converged nor
dropped. Measured on iris, wine (standardized) and digits, seeds 0-4 (``python -m
bench.kmeans_restarts``): the best of 20 restarts reaches scikit-learn's
``KMeans(n_init=10)`` inertia in as many passes, give or take two, as one restart. Its inertia after a pass is that pass's inertia
minus ``sum_j n_j |c_j(new) - c_j(old)|^2``: the inertia of the new centers under the
pass's assignments, exact unless a row would change cluster (then an upper bound), so no
pass is spent re-measuring it. Empty clusters are re-seeded with the rows farthest from their centers found
in the same pass. Every random choice is a hash of row values (see
:mod:`jobs.clustering`) or a seeded generator in the driver, so the result does not depend
on the runner or the number of mappers.
"""
import numpy as np

from driver.errors import MrlearnError
from jobs.clustering import nearest
from jobs.kmeans_pass import MRKMeansPass

INITS = ("k-means||", "k-means++", "random")
OVERSAMPLING_ROUNDS = 2
LOCAL_LLOYD_ITERATIONS = 30
DEFAULT_N_INIT = 20
PRUNE_AFTER = 3
PRUNE_MARGIN = 0.02
TIE = 1e-9


def init_passes(init, k):
    """Data passes ``init`` takes before the first Lloyd pass (k-means|| takes one more per
    candidate it must pick when its oversampling rounds find fewer than k)."""
    return {"k-means||": 1 + OVERSAMPLING_ROUNDS + 1, "k-means++": k, "random": 1}[init]


class KMeansSolver:
    """Drives the k-means passes; same interface as :mod:`driver.solvers`' solvers."""

    name = "lloyd"
    job = MRKMeansPass

    def __init__(self, n_params, tol, k, init="k-means||", n_init=DEFAULT_N_INIT, seed=0):
        self.n_params, self.tol = n_params, tol
        self.options = {"k": k, "init": init, "n_init": n_init, "seed": seed}
        self.phase, self.round = "first", 0
        self.sets = [[] for _ in range(n_init)]
        self.measured = [None] * n_init       # per set: [centers, inertia] of its last pass
        self.converged = [False] * n_init
        self.dropped = [False] * n_init       # pruned: too far above the best set
        self.tol_scaled = None
        self.done, self.stop_reason = False, None

    # --- the pass loop's interface ---------------------------------------------------------

    def pass_params(self):
        k = self.options["k"]
        ops = {"first": ["moments", "first"], "oversample": ["oversample"],
               "weights": ["weights"], "pick": ["pick"], "lloyd": ["lloyd"]}[self.phase]
        sets = ([self.sets[r] for r in self._live()] if self.phase == "lloyd" else self.sets)
        return {"sets": sets, "ops": ops, "seed": self.options["seed"], "round": self.round,
                "n_first": k if self.options["init"] == "random" else 1, "ell": 2 * k,
                "n_far": k}

    def update(self, record):
        """Advance by the record of the pass :meth:`pass_params` described."""
        phase = self.phase
        info = getattr(self, "_after_" + phase)(record)
        info.setdefault("objective", None)
        return dict({"phase": phase}, **info)

    def model_fields(self):
        if not any(self.measured):
            raise MrlearnError(
                "k-means stopped inside its %s initialization (%s phase, round %d) when "
                "--max-iter ran out; run again with --resume and a larger --max-iter to "
                "continue from the checkpoint in --checkpoint-dir"
                % (self.options["init"], self.phase, self.round))
        best = self._best()
        centers, inertia = self.measured[best]
        return {"cluster_centers": centers, "inertia": inertia, "objective": inertia,
                "best_init": best, "init_inertias": [m[1] if m else None for m in self.measured]}

    # --- phases ------------------------------------------------------------------------------

    def _after_first(self, record):
        k, init = self.options["k"], self.options["init"]
        n, _, squared_deviations = record["moments"]
        self.tol_scaled = self.tol * float(np.mean(squared_deviations)) / n
        # distinct: with row weights, equal rows of unequal weights have unequal keys
        firsts = [_distinct_rows([item[1:] for item in items], [])
                  for _, items in record["first_top"]]
        if init == "random" and len(firsts[0]) < k:
            raise MrlearnError("--k %d is more than the %d distinct rows of the input; give a "
                               "smaller --k" % (k, len(firsts[0])))
        self.sets = firsts
        if init == "random":
            self._start_lloyd()
        else:
            self.phase, self.round = ("oversample" if init == "k-means||" else "pick"), 1
            if init == "k-means++" and k == 1:
                self._start_lloyd()
        return {"objective": float(np.sum(squared_deviations))}

    def _after_oversample(self, record):
        ell = 2 * self.options["k"]
        for r, (cost, rows) in enumerate(zip(record["cost"], record["candidate_samples"])):
            rows = np.asarray(rows, dtype=np.float64).reshape(-1, 2 + self.n_params)
            chosen = rows[rows[:, 0] * cost < ell * rows[:, 1]]
            chosen = chosen[np.argsort(chosen[:, 0], kind="stable")]
            self.sets[r] = self.sets[r] + _distinct_rows(chosen[:, 2:], self.sets[r])
        if self.round < OVERSAMPLING_ROUNDS:
            self.round += 1
        elif any(len(s) < self.options["k"] for s in self.sets):
            self.phase, self.round = "pick", self.round + 1  # k-means++ picks fill the sets
        else:
            self.phase = "weights"
        return {"objective": float(max(record["cost"])),
                "candidates": max(len(s) for s in self.sets)}

    def _after_weights(self, record):
        weights = np.asarray(record["weights"], dtype=np.float64)
        offset = 0
        for r, candidates in enumerate(self.sets):
            w = weights[offset:offset + len(candidates)]
            offset += len(candidates)
            rng = np.random.default_rng([self.options["seed"], r])
            self.sets[r] = weighted_kmeans(np.asarray(candidates), w, self.options["k"], rng).tolist()
        self._start_lloyd()
        return {"candidates": offset}

    def _after_pick(self, record):
        """Add one k-means++ pick to every set of fewer than k rows (all sets for
        k-means++; k-means|| sets its oversampling left short)."""
        k = self.options["k"]
        for r, (_, items) in enumerate(record["pick_top"]):
            if len(self.sets[r]) >= k:
                continue
            if not items:  # every row is at distance 0 from the set
                raise MrlearnError("--k %d is more than the %d distinct rows of the input; "
                                   "give a smaller --k" % (k, len(self.sets[r])))
            self.sets[r] = self.sets[r] + [items[0][1:]]
        self.round += 1
        if all(len(s) >= k for s in self.sets):
            if self.options["init"] == "k-means||":
                self.phase = "weights"
            else:
                self._start_lloyd()
        return {}

    def _live(self):
        """Indices of the sets a Lloyd pass still advances."""
        return [r for r, (c, d) in enumerate(zip(self.converged, self.dropped)) if not (c or d)]

    def _start_lloyd(self):
        self.phase, self.round = "lloyd", 0

    def _after_lloyd(self, record):
        shifts, reseeded = [], 0
        for i, r in enumerate(self._live()):
            old = np.asarray(self.sets[r], dtype=np.float64)
            counts = np.asarray(record["counts"][i])
            sums = np.asarray(record["sums"][i])
            new = old.copy()
            filled = counts > 0
            new[filled] = sums[filled] / counts[filled, None]
            empty = np.flatnonzero(~filled)
            if len(empty):
                far = _distinct_rows(np.asarray([item[1:] for item in record["far_top"][i][1]]),
                                     new[filled].tolist())
                for j, row in zip(empty, far):
                    new[j] = row
                reseeded += len(empty)
            moved = ((new - old) ** 2).sum(axis=1)
            shift = float(moved.sum())
            shifts.append(shift)
            # the pass's assignments with the moved centers: exact unless a row would
            # change cluster, else an upper bound of the new centers' inertia
            self.measured[r] = [new.tolist(), record["inertia"][i] - float(counts @ moved)]
            if not len(empty) and shift <= self.tol_scaled:
                self.converged[r] = True
            else:
                self.sets[r] = new.tolist()
        self.round += 1
        best = self._prune_and_stop()
        return {"objective": best, "center_shift": max(shifts), "reseeded": reseeded,
                "live_sets": len(self._live())}

    def _prune_and_stop(self):
        """Drop the sets too far above the best (from Lloyd pass PRUNE_AFTER on); done when
        the best set has converged. Returns the best inertia."""
        inertia = self._inertias()
        best = self._best()
        if self.round >= PRUNE_AFTER:
            self.dropped = [d or (not c and i > inertia[best] * (1 + PRUNE_MARGIN))
                            for d, c, i in zip(self.dropped, self.converged, inertia)]
        if self.converged[best]:
            self.done = True
            self.stop_reason = "converged" if all(self.converged) else "best restart converged"
        return inertia[best]

    def _inertias(self):
        """Per set: its last measured inertia (inf before its first Lloyd pass or dropped)."""
        return [m[1] if m and not d else np.inf for m, d in zip(self.measured, self.dropped)]

    def _best(self):
        """The set of lowest inertia. Sets within a relative TIE of it are tied (rounding:
        their sums add in an order that depends on the splits); among tied sets a converged
        one wins, then the first, so that the choice does not depend on the splits."""
        inertia = self._inertias()
        least = min(inertia)
        return min(range(len(inertia)),
                   key=lambda r: (inertia[r] > least * (1 + TIE), not self.converged[r], r))

    # --- JSON state ----------------------------------------------------------------------------

    STATE = ("phase", "round", "sets", "measured", "converged", "dropped", "tol_scaled", "done",
             "stop_reason")

    def state(self):
        out = {"name": self.name, "n_params": self.n_params, "tol": self.tol,
               "options": self.options}
        out.update({key: getattr(self, key) for key in self.STATE})
        return out

    def _load(self, state):
        for key in self.STATE:
            setattr(self, key, state[key])


def _distinct_rows(rows, existing):
    """Rows (list of lists) of ``rows`` (m, d) in order, without repeats or rows in ``existing``."""
    seen = {tuple(row) for row in existing}
    out = []
    for row in np.asarray(rows).tolist():
        if tuple(row) not in seen:
            seen.add(tuple(row))
            out.append(row)
    return out


def weighted_kmeans(points, weights, k, rng):
    """k centers (k, d) for weighted ``points`` (m, d): greedy k-means++, then Lloyd.

    Greedy k-means++ tries ``2 + log k`` candidates per center and keeps the one that
    lowers the weighted potential most (as scikit-learn); Lloyd then runs on the weighted
    points for at most :data:`LOCAL_LLOYD_ITERATIONS` iterations.
    """
    m = len(points)
    trials = 2 + int(np.log(k))
    probabilities = weights / weights.sum()
    centers = [points[rng.choice(m, p=probabilities)]]
    d2 = nearest(points, np.array(centers))[1]
    for _ in range(1, k):
        potential = weights * d2
        if potential.sum() <= 0:
            break
        tries = rng.choice(m, size=trials, p=potential / potential.sum())
        options = [np.minimum(d2, nearest(points, points[t][None, :])[1]) for t in tries]
        best = int(np.argmin([(weights * o).sum() for o in options]))
        centers.append(points[tries[best]])
        d2 = options[best]
    C = np.array(centers)
    for _ in range(LOCAL_LLOYD_ITERATIONS):
        labels = nearest(points, C)[0]
        mass = np.bincount(labels, weights=weights, minlength=len(C))
        filled = mass > 0
        new = C.copy()
        for j in range(points.shape[1]):
            new[filled, j] = np.bincount(labels, weights=weights * points[:, j],
                                         minlength=len(C))[filled] / mass[filled]
        if np.array_equal(new, C):
            break
        C = new
    return C
