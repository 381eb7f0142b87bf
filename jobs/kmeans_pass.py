"""One k-means pass: Lloyd sums and the sampling steps of k-means initialization.

Parameters (``--params`` JSON): ``sets`` (R center sets, each a list of k_r rows of d
numbers; R = number of restarts advanced together), ``ops`` (what to compute, below),
``seed``, ``round`` (selects the random stream), ``n_first``, ``ell``, ``n_far``.

Emits one record, key ``"record"``, with ``n`` and, per op (lists over the R sets):

- ``moments``: ``moments`` = per-column ``[n, mean, sum of squared deviations]``;
- ``first``: ``first_top`` = the ``n_first`` rows of smallest hash (a uniform sample);
- ``lloyd``: ``counts`` (R, k), ``sums`` (R, k, d), ``inertia`` (R,), ``far_top`` (the
  ``n_far`` rows farthest from their center);
- ``oversample``: ``cost`` (R,) = sum of squared distances to the set, and
  ``candidate_samples``: rows ``[u, d2, x]`` that may pass the k-means|| test
  ``u < ell * d2 / cost`` (the driver applies it with the total cost);
- ``weights``: ``weights`` (sum of k_r,) = rows nearest to each center, sets concatenated;
- ``pick``: ``pick_top`` = one row drawn with probability proportional to d2 (k-means++;
  none when every row is at distance 0 from the set).

With row weights (``weight_col``) every count, sum and cost is weighted, and every draw is
by weight (first center, ``random``) or by weight times d2 (k-means||, k-means++), as
scikit-learn's ``sample_weight``; the column moments (for the tolerance) stay unweighted,
as scikit-learn's.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.clustering import (first_top, lloyd_sums, nearest, oversample, row_uniforms,
                             weighted_pick)
from jobs.kernels import column_moments


def stream_id(round_, set_index):
    """The random stream of one round of one center set."""
    return (round_ << 16) | set_index


class MRKMeansPass(BlockJob):

    def init_split(self):
        p = self.params
        self.n_features = p["n_features"]
        self.sets = [np.asarray(c, dtype=np.float64).reshape(-1, self.n_features)
                     for c in p["sets"]]
        self.ops = set(p["ops"])
        self.oversampled = [(0.0, np.empty((0, 2 + self.n_features))) for _ in self.sets]

    def _uniforms(self, X, r):
        return row_uniforms(X, self.params["seed"], stream_id(self.params["round"], r))

    def process_block(self, X, y, w):
        p, sets = self.params, self.sets
        partial = {"n": X.shape[0]}
        if "moments" in self.ops:
            partial["moments"] = column_moments(X)
        if "first" in self.ops:
            partial["first_top"] = [first_top(self._uniforms(X, r), X, p["n_first"], w)
                                    for r in range(len(sets))]
        if "lloyd" in self.ops:
            counts, sums, inertia, far = zip(*[lloyd_sums(X, C, p["n_far"], w) for C in sets])
            partial.update(counts=np.array(counts), sums=np.array(sums),
                           inertia=np.array(inertia), far_top=list(far))
        if "oversample" in self.ops:
            self.oversampled = [oversample(X, C, self._uniforms(X, r), p["ell"], cost, kept, w)
                                for r, (C, (cost, kept)) in enumerate(zip(sets, self.oversampled))]
        if "weights" in self.ops:
            partial["weights"] = np.concatenate(
                [np.bincount(nearest(X, C)[0], weights=w, minlength=len(C)) for C in sets]
            ).astype(float)
        if "pick" in self.ops:
            partial["pick_top"] = [weighted_pick(X, C, self._uniforms(X, r), w)
                                   for r, C in enumerate(sets)]
        self.add_to_record(partial)

    def final_pairs(self):
        if "oversample" in self.ops:
            self.add_to_record({"cost": [cost for cost, _ in self.oversampled],
                                "candidate_samples": [kept.tolist() for _, kept in self.oversampled]})
        return super(MRKMeansPass, self).final_pairs()


if __name__ == "__main__":
    MRKMeansPass.run()
