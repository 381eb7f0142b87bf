"""The shared shape of every mrlearn pass: buffered, block-parsed input and bad-row policy.

A job subclasses :class:`BlockJob` and implements :meth:`BlockJob.process_block`, which
receives parsed feature blocks. Summary passes (training, evaluation) fold each block into
one record per split with :func:`jobs.records.merge_records`, emit it from
``mapper_final`` under the key ``"record"``, and a single reducer merges the split records
in a fixed order (sorted by split), so the result does not depend on the order in which
map outputs arrive.

The pass parameters arrive as a JSON file (``--params``), read in ``mapper_init``:
``n_columns`` (fields per CSV row), ``label_col``, ``header`` (``auto``/``yes``/``no``)
plus what the job needs.
"""
import json

from mrjob.compat import jobconf_from_env
from mrjob.job import MRJob
from mrjob.protocol import RawValueProtocol, StandardJSONProtocol

from jobs.parsing import BLOCK_LINES, looks_like_header, parse_csv_block, split_label
from jobs.records import merge_all, merge_records, to_json

RECORD_KEY = "record"
COUNTER_GROUP = "mrlearn"
BAD_ROWS_COUNTER = "bad rows"


class BlockJob(MRJob):
    """Base job: reads CSV lines, parses them in blocks of :data:`BLOCK_LINES`."""

    INPUT_PROTOCOL = RawValueProtocol
    INTERNAL_PROTOCOL = StandardJSONProtocol
    OUTPUT_PROTOCOL = StandardJSONProtocol

    def configure_args(self):
        super(BlockJob, self).configure_args()
        self.add_file_arg("--params", help="JSON file with this pass's parameters")

    def jobconf(self):
        conf = super(BlockJob, self).jobconf()
        conf["mapreduce.job.reduces"] = "1"
        return conf

    # --- mapper side -------------------------------------------------------------

    def mapper_init(self):
        with open(self.options.params) as f:
            self.params = json.load(f)
        self.split_file = jobconf_from_env("mapreduce.map.input.file", "")
        self.split_start = int(jobconf_from_env("mapreduce.map.input.start", "0") or 0)
        self.lines_seen = 0
        self.buffer = []
        self.buffer_first_line = 1
        self.split_record = {"n": 0, "bad_rows": 0, "first_bad": None,
                             "split": [self.split_file, self.split_start]}
        self.init_split()

    def init_split(self):
        """Hook: set up per-split state after the parameters are read."""

    def mapper(self, _, line):
        self.lines_seen += 1
        if self.lines_seen == 1 and self.split_start == 0 and self._is_header(line):
            return None
        if not self.buffer:
            self.buffer_first_line = self.lines_seen
        self.buffer.append(line)
        if len(self.buffer) >= BLOCK_LINES:
            return self._flush()
        return None

    def _is_header(self, line):
        header = self.params.get("header", "auto")
        return header == "yes" or (header == "auto" and looks_like_header(line))

    def _flush(self):
        if not self.buffer:
            return []
        values, bad = parse_csv_block(self.buffer, self.params["n_columns"])
        if bad:
            self._note_bad_rows(bad)
        first_line = self.buffer_first_line
        self.buffer = []
        X, y = split_label(values, self.params["label_col"])
        return self.process_block(X, y, first_line) or []

    def _note_bad_rows(self, bad):
        self.increment_counter(COUNTER_GROUP, BAD_ROWS_COUNTER, len(bad))
        index, reason = bad[0]
        report = {"file": self.split_file, "split_start": self.split_start,
                  "line_in_split": self.buffer_first_line + index,
                  "text": self.buffer[index][:200], "reason": reason}
        self.split_record = merge_records(
            self.split_record, {"bad_rows": len(bad), "first_bad": report})

    def process_block(self, X, y, first_line):
        """Handle one parsed block: ``X`` (k, d) features, ``y`` (k,) raw labels.

        ``first_line`` is the split line number of the block's first line. Summary jobs
        fold the block into the split record (:meth:`add_to_record`) and return nothing;
        map-only jobs return (key, value) pairs to emit.
        """
        raise NotImplementedError

    def add_to_record(self, partial):
        """Merge a partial record (dict of sums) into this split's record."""
        self.split_record = merge_records(self.split_record, partial)

    def mapper_final(self):
        for pair in self._flush():
            yield pair
        for pair in self.final_pairs():
            yield pair

    def final_pairs(self):
        """Pairs emitted once per split; summary jobs emit the split record."""
        yield RECORD_KEY, to_json(self.split_record)

    # --- reducer side --------------------------------------------------------------

    def reducer(self, key, records):
        """Merge the split records of one pass, in split order, into one record."""
        ordered = sorted(records, key=lambda r: tuple(r.pop("split")))
        yield key, to_json(merge_all(ordered))
