"""One distributed mini-batch SGD pass: the full objective and a sampled gradient.

Parameters (``--params`` JSON): ``loss``, ``theta`` (d + 1 numbers), ``seed``,
``pass_index``, ``batch_fraction``.

Emits one record, key ``"record"``: ``n``, ``loss_exact`` (sum of the loss at ``theta``
over all rows), ``sample_n`` and ``sample_grad_exact`` (gradient sum over the rows sampled
for this pass), with row weights also ``weight_exact`` and ``sample_weight_exact``. Sums
are exact fixed-point integers (:func:`jobs.sgd.exact_sums`), so the
record is the same for any number of mappers.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.kernels import encode_labels
from jobs.records import distinct_labels
from jobs.sgd import sgd_pass_sums


class MRSGDPass(BlockJob):

    def init_split(self):
        self.theta = np.asarray(self.params["theta"], dtype=np.float64)

    def process_block(self, X, y, w):
        p = self.params
        sums = sgd_pass_sums(p["loss"], X, encode_labels(y, p["loss"]), self.theta,
                             p["seed"], p["pass_index"], p["batch_fraction"], w)
        self.add_to_record(dict(sums, labels=distinct_labels(y)))


if __name__ == "__main__":
    MRSGDPass.run()
