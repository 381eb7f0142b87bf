"""One pass of centered moments of the rows ``[x, y]``: the exact linear least-squares pass.

Parameters (``--params`` JSON): only the common input description.

Emits one record, key ``"record"``, value: ``n`` and ``moments`` = ``[n, mean (d + 1,),
scatter (d + 1, d + 1)]`` of the columns ``[x_1 .. x_d, y]`` (label last), merged across
blocks and splits with Chan et al.'s pairwise update, plus ``bad_rows``/``first_bad``.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.kernels import moments


class MRMomentsPass(BlockJob):

    def process_block(self, X, y):
        self.add_to_record({"n": X.shape[0], "moments": moments(np.column_stack([X, y]))})


if __name__ == "__main__":
    MRMomentsPass.run()
