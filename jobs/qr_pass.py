"""One pass of the tall-skinny QR of the rows ``[x, 1, y]``: the exact least-squares pass.

Parameters (``--params`` JSON): the common input description, and optionally ``folds``
(K) with ``seed``: then the record holds ``fold_rfactors`` instead of ``design_rfactor``,
one factor per cross-validation fold (fold of a row = :func:`jobs.folds.fold_of`, fixed by its
values: the same on every runner and for any split layout), plus ``fold_weight_sums``
when weighted.

Emits one record, key ``"record"``, value: ``n``, ``design_rfactor`` = ``[n, shift (d + 1,),
R (2, d + 2, d + 2)]`` (a double-double pair) of the columns ``[x_1 .. x_d, 1, y]`` shifted by a data row (see
:mod:`jobs.tsqr`; rows scaled by the square roots of their weights when weighted), merged
across blocks and splits in split order, plus ``weight_sum`` with weights and
``bad_rows``/``first_bad``.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.folds import fold_of
from jobs.tsqr import rfactor


class MRQRPass(BlockJob):

    def process_block(self, X, y, w):
        Z = np.column_stack([X, y])
        folds = self.params.get("folds")
        if not folds:
            self.add_to_record({"n": X.shape[0], "design_rfactor": rfactor(Z, w)})
            return
        fold = fold_of(Z, self.params["seed"], folds)
        parts = [fold == k for k in range(folds)]
        partial = {"n": X.shape[0], "fold_rfactors": [
            rfactor(Z[part], None if w is None else w[part]) for part in parts]}
        if w is not None:
            partial["fold_weight_sums"] = [float(w[part].sum()) for part in parts]
        self.add_to_record(partial)


if __name__ == "__main__":
    MRQRPass.run()
