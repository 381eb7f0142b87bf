"""The sampling pass that finds range-partition boundaries.

Parameters: ``key_col``, ``seed``, ``sample_size`` (S). Emits one record, key
``"record"``: ``n`` and ``sample_top`` = the S rows of smallest hash as ``[-u, key, tie]``
items: a uniform sample of (key, tie) pairs, the same whatever the splits.
"""
import numpy as np

from jobs.base import BlockJob
from jobs.clustering import row_uniforms, top_list
from jobs.partition_pass import SAMPLE_STREAM, range_ties


class MRPartitionSample(BlockJob):

    def process_block(self, X, y, w):
        p = self.params
        u = row_uniforms(X, p["seed"], SAMPLE_STREAM)
        pairs = np.column_stack([X[:, p["key_col"]], range_ties(X, p["seed"])])
        self.add_to_record({"n": X.shape[0],
                            "sample_top": [top_list(-u, pairs, p["sample_size"])]})


if __name__ == "__main__":
    MRPartitionSample.run()
