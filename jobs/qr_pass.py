"""One pass of the tall-skinny QR of the rows ``[x, 1, y]``: the exact least-squares pass.

Parameters (``--params`` JSON): only the common input description.

Emits one record, key ``"record"``, value: ``n``, ``design_rfactor`` = ``[n, shift (d + 1,),
R (2, d + 2, d + 2)]`` (a double-double pair) of the columns ``[x_1 .. x_d, 1, y]`` shifted by a data row (see
:mod:`jobs.tsqr`; rows scaled by the square roots of their weights when weighted), merged
across blocks and splits in split order, plus ``weight_sum`` with weights and
``bad_rows``/``first_bad``.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.tsqr import rfactor


class MRQRPass(BlockJob):

    def process_block(self, X, y, w):
        self.add_to_record({"n": X.shape[0], "design_rfactor": rfactor(np.column_stack([X, y]), w)})


if __name__ == "__main__":
    MRQRPass.run()
