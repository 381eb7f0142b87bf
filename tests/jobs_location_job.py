"""Test helper job: reports where task processes import the ``jobs`` package from."""
from jobs.base import BlockJob


class MRJobsLocation(BlockJob):

    def process_block(self, X, y, w):
        return None

    def final_pairs(self):
        import jobs
        yield "record", jobs.__file__

    def reducer(self, key, values):
        yield key, sorted(set(values))


if __name__ == "__main__":
    MRJobsLocation.run()
