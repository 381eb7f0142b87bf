"""One iterative-parameter-mixing pass (McDonald et al. 2010).

Parameters (``--params`` JSON): ``loss``, ``theta`` (d + 1 numbers: the global model),
``seed``, ``pass_index`` and the local SGD ``options`` (``local_epochs``, ``batch_size``,
``schedule``, ``eta0``, ``power_t``, ``l2``).

Each mapper keeps its split's parsed rows, and at its end runs ``local_epochs`` epochs of
mini-batch SGD from ``theta`` over them. Emits one record, key ``"record"``: ``n``,
``loss`` (1,) = sum of the loss at the global ``theta`` over the split (so the history
shows the true objective per pass), and ``weighted_theta`` = local model times rows
(times the split's total weight with row weights, whose losses are weighted too); their
sums over splits give the row-weighted average, the next global model.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.kernels import encode_labels, loss_sums
from jobs.parsing import stack_rows
from jobs.records import distinct_labels
from jobs.sgd import local_sgd


class MRMixingPass(BlockJob):

    MODEL_PARALLEL = True
    """Its record's ``weighted_theta`` may be summed by several reducers (``shards``)."""

    def init_split(self):
        self.theta = np.asarray(self.params["theta"], dtype=np.float64)
        self.blocks = []

    def process_block(self, X, y, w):
        labels = distinct_labels(y)
        y = encode_labels(y, self.params["loss"])
        self.blocks.append((X, y, w))
        sums = loss_sums(self.params["loss"], X, y, self.theta[None, :], 0, weights=w)
        self.add_to_record({"n": sums["n"], "loss": sums["loss"], "labels": labels})

    def final_pairs(self):
        if self.blocks:
            X = stack_rows([b[0] for b in self.blocks])
            y = np.concatenate([b[1] for b in self.blocks])
            w = None if self.blocks[0][2] is None else np.concatenate([b[2] for b in self.blocks])
            p = self.params
            local = local_sgd(p["loss"], X, y, self.theta, p["options"], p["seed"],
                              p["pass_index"], w)
            self.add_to_record({"weighted_theta": local * (len(y) if w is None else w.sum())})
        return super(MRMixingPass, self).final_pairs()


if __name__ == "__main__":
    MRMixingPass.run()
