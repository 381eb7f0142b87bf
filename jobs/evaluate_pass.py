"""One evaluation pass: metric sums of a fitted model over the input.

Parameters (``--params`` JSON): ``task``: ``regression``, the classifier's loss
(``logistic``, ``hinge``, ``squared_hinge``) or ``kmeans``; ``theta`` (d + 1 numbers
``[w, b]``) for linear models, ``centers`` (k rows of d numbers) for k-means.

Emits one record, key ``"record"``. Regression: ``n``, ``sse``, ``sae``,
``y_moments``. Classification: ``n``, ``correct``, ``loss`` (sum), ``scores_sketch``
(per-class rank sketch of the margins for ROC AUC, :mod:`jobs.sketch`); multiclass
models (``multiclass``, ``classes``, ``theta`` K rows): see
:func:`jobs.multiclass.multiclass_eval_sums`. K-means: ``n``, ``inertia``,
``sizes`` (k,) and, when there is a label column, ``contingency`` (counts of
``"cluster|label"``). Plus ``bad_rows``/``first_bad``. With row weights (``weight_col``,
binary and regression models) every sum is weighted and the record holds ``weight_sum``.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.clustering import clustering_sums
from jobs.kernels import classification_sums, regression_sums
from jobs.multiclass import multiclass_eval_sums


class MREvaluatePass(BlockJob):

    def init_split(self):
        self.theta = np.asarray(self.params.get("theta", []), dtype=np.float64)
        self.centers = np.asarray(self.params.get("centers", []), dtype=np.float64)

    def process_block(self, X, y, w):
        task = self.params["task"]
        if task == "kmeans":
            sums = clustering_sums(X, y, self.centers, w)
        elif self.params.get("multiclass"):
            sums = multiclass_eval_sums(self.params["multiclass"], task, X, y,
                                        self.params["classes"], self.theta, w)
        elif task == "regression":
            sums = regression_sums(X, y, self.theta, w)
        else:
            sums = classification_sums(task, X, y, self.theta, w)
        self.add_to_record(sums)


if __name__ == "__main__":
    MREvaluatePass.run()
