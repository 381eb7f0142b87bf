"""One training pass: loss, gradient and Hessian sums at candidate parameter vectors.

Parameters (``--params`` JSON): ``loss`` (a :data:`jobs.kernels.LOSSES` name),
``thetas`` (m lists of d + 1 numbers: candidates ``[w, b]``), ``order`` (0, 1 or 2) and,
with order 2, ``hess_at`` (the candidate whose Hessian is summed; default 0).

Emits one record, key ``"record"``, value: ``n`` (rows), ``loss`` (m,), ``grad``
(m, d + 1) when order >= 1, ``hess`` (d + 1, d + 1) when order == 2, ``labels``
(distinct raw labels seen), ``bad_rows`` and ``first_bad``. All are sums over rows: the
driver divides by ``n`` and adds the regularization.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.kernels import encode_labels, loss_sums
from jobs.records import distinct_labels


class MRObjectivePass(BlockJob):

    def init_split(self):
        self.thetas = np.asarray(self.params["thetas"], dtype=np.float64)

    def process_block(self, X, y):
        loss = self.params["loss"]
        sums = loss_sums(loss, X, encode_labels(y, loss), self.thetas, self.params["order"],
                         self.params.get("hess_at", 0))
        sums["labels"] = distinct_labels(y)
        self.add_to_record(sums)


if __name__ == "__main__":
    MRObjectivePass.run()
