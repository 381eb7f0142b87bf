"""One training pass: loss, gradient and Hessian sums at candidate parameter vectors.

Parameters (``--params`` JSON): ``loss`` (a :data:`jobs.kernels.LOSSES` name),
``thetas`` (m candidates), ``order`` (0, 1 or 2) and, with order 2, ``hess_at``; then by
kind of model:

- binary (no ``multiclass``): candidates ``[w, b]`` (d + 1 numbers), ``hess_at`` the
  candidate whose Hessian is summed (default 0);
- ``"multiclass": "multinomial"`` with ``classes`` (K sorted labels): candidates of
  K (d + 1) numbers (:func:`jobs.multiclass.softmax_sums`), ``hess_at`` as binary;
- ``"multiclass": "ovr"`` with ``classes`` and ``problems`` (m class indices): candidate j
  ``[w, b]`` of the problem "class ``problems[j]`` against the rest", ``hess_at`` a list
  of candidates (:func:`jobs.multiclass.ovr_sums`);
- ``fold_hessians`` (a list of ``[candidate, fold left out]``, fold -1 for none) with
  ``folds`` (K) and ``seed``: a regularization path with K-fold cross-validation (binary
  losses, order 2): per-fold sums at every candidate and the Hessians asked for
  (:func:`jobs.kernels.fold_sums`; fold of a row = :func:`jobs.folds.fold_of` of
  ``[x, raw label]``, the folds of :mod:`jobs.qr_pass`; K = 1: every row in fold 0);
- ``line`` instead of ``thetas`` (binary losses, order 1): ``{"theta", "direction",
  "steps"}``, the candidates ``theta + t direction`` of a line search, evaluated through
  their margins (:func:`jobs.kernels.line_sums`); ``grad`` is then (1, p), at the first
  step only;
- ``diagonal`` true (binary, ``thetas`` or ``line``): also ``hess_diag``, the Hessian's
  diagonal sums at the candidate ``hess_at`` (with ``line``, the first step);
- ``label_sums`` true: also the per-label sums of ``[x, 1]`` (the first pass of a
  classifier, from which the driver starts a multiclass model at zero);
- ``class_totals`` true: also the per-label weight sums (row counts without weights), from
  which the driver resolves ``--class-weight balanced``;
- ``column_sums`` true: also the per-column sums and sums of squares of the features as
  the pass sees them (:func:`jobs.scaling.column_sums`, (2, d)), from which the driver
  measures a libsvm input's ``--standardize`` scale (on a pass without ``scale``).

Rows are weighted as :mod:`jobs.base` describes (``weight_col``, ``class_weights``); the
binary kernel weighs each row's loss and derivatives (``weights`` of
:func:`jobs.kernels.loss_sums`).

Emits one record, key ``"record"``, value: ``n`` (rows), ``loss`` (m,), ``grad``
(m, p) when order >= 1, ``hess`` when order == 2 ((p, p); for ovr one per ``hess_at``),
``labels`` (distinct raw labels seen), with ``fold_hessians`` the ``fold_*`` sums of
:func:`jobs.kernels.fold_sums` instead of ``loss``/``grad``/``hess``, ``label_sums`` /
``class_totals`` / ``column_sums`` when asked,
``weight_sum`` with weights, ``bad_rows`` and ``first_bad``. All are sums over rows: the
driver divides by ``weight_sum`` (``n`` without weights) and adds the regularization.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.folds import fold_of
from jobs.kernels import encode_labels, fold_sums, line_sums, loss_sums
from jobs.multiclass import class_index, class_totals, label_sums, ovr_sums, softmax_sums
from jobs.records import distinct_labels
from jobs.scaling import column_sums


class MRObjectivePass(BlockJob):

    MODEL_PARALLEL = True
    """Its record's coordinate fields may be summed by several reducers (``shards``)."""

    def init_split(self):
        self.thetas = np.asarray(self.params.get("thetas", ()), dtype=np.float64)

    def process_block(self, X, y, w):
        self.add_to_record(self._sums(X, y, w))
        self.add_to_record({"labels": distinct_labels(y)})
        if self.params.get("label_sums"):
            self.add_to_record({"label_sums": label_sums(X, y, w)})
        if self.params.get("class_totals"):
            self.add_to_record({"class_totals": class_totals(y, w)})
        if self.params.get("column_sums"):
            self.add_to_record({"column_sums": column_sums(X)})

    def _sums(self, X, y, w):
        loss, order = self.params["loss"], self.params["order"]
        kind = self.params.get("multiclass")
        if kind == "multinomial":
            classes = self.params["classes"]
            return softmax_sums(X, class_index(y, classes), self.thetas, len(classes), order,
                                self.params.get("hess_at", 0), weights=w)
        if "fold_hessians" in self.params:
            n_folds = self.params["folds"]
            fold = (fold_of(np.column_stack([X, y]), self.params["seed"], n_folds)
                    if n_folds > 1 else np.zeros(len(y), dtype=np.int64))
            return dict(fold_sums(loss, X, encode_labels(y, loss), fold, n_folds, self.thetas,
                                  self.params["fold_hessians"], weights=w), n=X.shape[0])
        if "line" in self.params:
            line = self.params["line"]
            return line_sums(loss, X, encode_labels(y, loss), np.asarray(line["theta"]),
                             np.asarray(line["direction"]), line["steps"], weights=w,
                             diagonal=self.params.get("diagonal", False))
        if kind == "ovr":
            return ovr_sums(loss, X, y, self.params["classes"], self.thetas,
                            np.asarray(self.params["problems"], dtype=int), order,
                            self.params.get("hess_at", ()), weights=w)
        return loss_sums(loss, X, encode_labels(y, loss), self.thetas, order,
                         self.params.get("hess_at", 0), weights=w,
                         diagonal=self.params.get("diagonal", False))


if __name__ == "__main__":
    MRObjectivePass.run()
