"""GIANT's direction pass: each split's Newton step against the global gradient.

Parameters (``--params`` JSON): ``loss`` (a binary :data:`jobs.kernels.LOSSES` name),
``theta`` (d + 1: the current point ``[w, b]``), ``grad`` (d + 1: the whole objective's
gradient there, ridge term included), ``diagonal`` (d + 1: the whole data's mean Hessian
diagonal there, without the ridge) and ``l2``. Rows are weighted as :mod:`jobs.base`
describes.

The mapper keeps its split's rows in memory (the parsed blocks, stacked at the end of the
split: O(nnz) for sparse rows) and solves its local Newton system once
(:func:`jobs.kernels.newton_direction_sums`). Emits one record, key ``"record"``, value:
``n`` (rows), ``direction_sum`` (d + 1: the splits' local directions times their weights),
``direction_weight`` (their total weight), ``cg_iterations_max``, ``bad_rows`` and
``first_bad``; the driver's direction is ``-direction_sum / direction_weight``.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.kernels import encode_labels, newton_direction_sums
from jobs.parsing import stack_rows


class MRGiantPass(BlockJob):

    MODEL_PARALLEL = True
    """Its record's coordinate fields may be summed by several reducers (``shards``)."""

    def init_split(self):
        self.blocks = []

    def process_block(self, X, y, w):
        self.blocks.append((X, encode_labels(y, self.params["loss"]), w))
        self.add_to_record({"n": X.shape[0]})

    def final_pairs(self):
        if self.blocks:
            X, y, w = zip(*self.blocks)
            self.blocks = []
            self.add_to_record(newton_direction_sums(
                self.params["loss"], stack_rows(list(X)), np.concatenate(y),
                self.params["theta"], self.params["grad"], self.params["l2"],
                None if w[0] is None else np.concatenate(w), self.params["diagonal"]))
        return super(MRGiantPass, self).final_pairs()


if __name__ == "__main__":
    MRGiantPass.run()
