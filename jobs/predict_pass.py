"""Prediction pass: one output line per well-formed input row, in input order.

Parameters (``--params`` JSON): ``algo`` (``linear``, ``logistic``, ``svm`` or
``kmeans``), ``theta`` (d + 1 numbers ``[w, b]``) and ``classes`` (``[negative,
positive]``) for linear models, ``centers`` (k rows of d numbers) for k-means; ``files``
(the input paths as tasks see them) and ``parts`` (N).

Output lines (no key), comma-separated: ``linear`` -> ``prediction,label as read``
(``prediction,`` for unlabeled rows: every line holds a comma, see ``BlockJob``);
``logistic`` -> ``label,probability of the positive class``; ``svm`` ->
``label,decision value``; ``kmeans`` -> ``cluster id,distance to its center``.
Multiclass models (``multiclass`` ``multinomial`` or ``ovr``, ``theta`` K rows, ``classes``
K labels; ``class_names``, when given, are written instead: the text labels of a table,
whose ``classes`` are their indices) write ``class,s_1,...,s_K`` with the scores in class order: the softmax
probabilities (multinomial), the one-vs-rest sigmoids normalized to sum 1 (ovr logistic),
or the K decision values (ovr svm); the class is the one of the largest margin. Input file
``i`` goes to part file ``i mod N``, its blocks keyed by (file, split, block) so a part
holds its files' rows in input order. Part file N is the summary record: rows predicted,
bad rows skipped and the first of them. (The summary travels in output rather than in
counters because reading counters on EMR means waiting for the logs to reach S3.)
"""
import os
from urllib.parse import urlsplit

import numpy as np

from jobs.base import PartitionedOutputJob
from jobs.clustering import nearest
from jobs.kernels import decision_function, sigmoid
from jobs.multiclass import class_scores
from jobs.partitioning import ordered_key


def format_predictions(algo, z, classes, y):
    """Text lines (list of str) for margins ``z`` (n,) of a linear model of kind ``algo``.

    Linear models write ``prediction,label`` with the label column as it was read, or
    ``prediction,`` for rows without a label (``y`` None).
    """
    if algo == "linear":
        if y is None:
            return ["%.17g," % v for v in z.tolist()]
        return ["%.17g,%.17g" % pair for pair in zip(z.tolist(), y.tolist())]
    labels = np.where(z > 0, classes[1], classes[0]).tolist()
    if algo == "logistic":
        z = sigmoid(z)
    return ["%s,%.17g" % (lab, v) for lab, v in zip(labels, z.tolist())]


def format_multiclass(kind, loss, X, thetas, classes):
    """Text lines ``class,s_1,...,s_K`` (list of str) of a K-class model ``thetas``
    (K, d + 1) for the rows ``X`` (see the module docstring)."""
    Z, S = class_scores(kind, loss, X, thetas)
    labels = np.asarray(classes, dtype=object)[Z.argmax(axis=1)].tolist()
    return ["%s," % lab + ",".join("%.17g" % v for v in row)
            for lab, row in zip(labels, S.tolist())]


def comparable_path(path):
    """``path`` without what Hadoop may add or drop: a local or HDFS path keeps only its
    path (``file:/a``, ``file:///a``, ``/a`` and ``hdfs://nn:8020/a`` -> ``/a``); other URIs
    keep their bucket (``s3a://b/k`` -> ``s3://b/k``)."""
    parts = urlsplit(path)
    if parts.scheme in ("", "file", "hdfs", "viewfs"):
        return os.path.normpath(parts.path)
    return "s3://%s%s" % (parts.netloc, parts.path) if parts.scheme.startswith("s3") else path


def file_index(split_file, files):
    """Position of the split's file among the pass's ``files``."""
    wanted = comparable_path(split_file)
    for i, path in enumerate(files):
        if comparable_path(path) == wanted:
            return i
    raise ValueError("input file %s is not among this pass's files %s" % (split_file, files))


class MRPredictPass(PartitionedOutputJob):

    def init_split(self):
        super(MRPredictPass, self).init_split()
        self.theta = np.asarray(self.params.get("theta", []), dtype=np.float64)
        self.centers = np.asarray(self.params.get("centers", []), dtype=np.float64)
        self.file_index = file_index(self.split_file, self.params["files"])
        self.class_names = self.params.get("class_names", self.params.get("classes"))
        self.blocks_written = 0

    def key_for(self, part):
        prefix = "%06d.%015d.%09d" % (self.file_index, self.split_start, self.blocks_written)
        self.blocks_written += 1
        return ordered_key(prefix, part, self.params["parts"] + 1)

    def process_block(self, X, y, w):
        if not X.shape[0]:  # dense rows or SparseRows
            return []
        self.add_to_record({"n": X.shape[0]})
        if self.params.get("multiclass"):
            lines = format_multiclass(self.params["multiclass"], self.params["task"], X,
                                      self.theta, self.class_names)
        elif self.params["algo"] == "kmeans":
            labels, d2 = nearest(X, self.centers)
            lines = ["%d,%.17g" % pair for pair in zip(labels.tolist(), np.sqrt(d2).tolist())]
        else:
            lines = format_predictions(self.params["algo"], decision_function(X, self.theta),
                                       self.class_names, y)
        return [(self.file_index % self.params["parts"], "\n".join(lines))]


if __name__ == "__main__":
    MRPredictPass.run()
