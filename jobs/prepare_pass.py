"""The prepare pass: validated rows written as packed blocks, with column statistics.

Parameters: ``parts`` (N output files), plus the input description (``label_col`` is
None here: every column is kept). Writes packed lines (:mod:`jobs.packed`,
:data:`PACKED_BLOCK_ROWS` rows each) spread round-robin over the N part files; the summary
record adds ``column_moments`` (per-column ``[n, mean, sum of squared deviations]``),
``column_min`` and ``column_max``.
"""
import numpy as np

from jobs.base import PartitionedOutputJob
from jobs.kernels import column_moments
from jobs.packed import pack_rows


class MRPreparePass(PartitionedOutputJob):

    def init_split(self):
        super(MRPreparePass, self).init_split()
        self.blocks_written = 0

    def process_block(self, X, y, w):
        if not X.shape[0]:
            return []
        if y is not None:  # libsvm: label first, then the (dense) features
            X = np.column_stack([y, X])
        self.add_to_record({"n": X.shape[0], "column_moments": column_moments(X),
                            "column_min": X.min(axis=0), "column_max": X.max(axis=0)})
        out = pack_rows(X, self.blocks_written, self.params["parts"])
        self.blocks_written += len(out)
        return out


if __name__ == "__main__":
    MRPreparePass.run()
