"""Map-only prediction pass: one output line per well-formed input row, in input order.

Parameters (``--params`` JSON): ``algo`` (``linear``, ``logistic``, ``svm`` or
``kmeans``), ``theta`` (d + 1 numbers ``[w, b]``) and ``classes`` (``[negative,
positive]``) for linear models, ``centers`` (k rows of d numbers) for k-means.

Output lines (no key), comma-separated: ``linear`` -> ``prediction,label as read``;
``logistic`` -> ``label,probability of the positive class``; ``svm`` ->
``label,decision value``; ``kmeans`` -> ``cluster id,distance to its center``. Bad rows are skipped and counted in the ``mrlearn/bad rows``
counter; the first one of each split is named by a counter in the group
:data:`FIRST_BAD_GROUP` as ``file|split start|line in split|reason``.
"""
import numpy as np
from mrjob.protocol import RawValueProtocol
from mrjob.step import MRStep

from jobs.base import COUNTER_GROUP, BlockJob
from jobs.clustering import nearest
from jobs.kernels import decision_function, sigmoid

FIRST_BAD_GROUP = COUNTER_GROUP + " first bad row"
ROWS_COUNTER = "rows predicted"


def format_predictions(algo, z, classes, y):
    """Text lines (list of str) for margins ``z`` (n,) of a linear model of kind ``algo``.

    Linear models write ``prediction,label`` with the label column as it was read.
    """
    if algo == "linear":
        return ["%.17g,%.17g" % pair for pair in zip(z.tolist(), y.tolist())]
    labels = np.where(z > 0, classes[1], classes[0]).tolist()
    if algo == "logistic":
        z = sigmoid(z)
    return ["%s,%.17g" % (lab, v) for lab, v in zip(labels, z.tolist())]


class MRPredictPass(BlockJob):

    OUTPUT_PROTOCOL = RawValueProtocol

    def init_split(self):
        self.theta = np.asarray(self.params.get("theta", []), dtype=np.float64)
        self.centers = np.asarray(self.params.get("centers", []), dtype=np.float64)

    def process_block(self, X, y):
        if not len(X):
            return
        self.increment_counter(COUNTER_GROUP, ROWS_COUNTER, len(X))
        if self.params["algo"] == "kmeans":
            labels, d2 = nearest(X, self.centers)
            lines = ["%d,%.17g" % pair for pair in zip(labels.tolist(), np.sqrt(d2).tolist())]
        else:
            lines = format_predictions(self.params["algo"], decision_function(X, self.theta),
                                       self.params["classes"], y)
        yield None, "\n".join(lines)

    def final_pairs(self):
        bad = self.split_record["first_bad"]
        if bad:
            name = "%s|%d|%d|%s" % (bad["file"], bad["split_start"], bad["line_in_split"],
                                    bad["reason"])
            self.increment_counter(FIRST_BAD_GROUP, name, 1)
        return []

    def jobconf(self):
        conf = dict(super(MRPredictPass, self).jobconf(), **self.TEXT_OUTPUT_SEPARATOR)
        conf["stream.map.output.field.separator"] = ","
        conf["mapreduce.job.reduces"] = "0"
        return conf

    def steps(self):
        return [MRStep(mapper_init=self.mapper_init, mapper=self.mapper,
                       mapper_final=self.mapper_final)]


if __name__ == "__main__":
    MRPredictPass.run()
