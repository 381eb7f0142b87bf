"""The shared shape of every mrlearn pass: buffered, block-parsed input and bad-row policy.

A job subclasses :class:`BlockJob` and implements :meth:`BlockJob.process_block`, which
receives parsed feature blocks. Summary passes (training, evaluation) fold each block into
one record per split with :func:`jobs.records.merge_records` and emit it from
``mapper_final`` under a key naming the split (:func:`jobs.records.split_key`); a reducer
merges the split records in key order, that is in split order, holding one running sum, so
the result does not depend on the order in which map outputs arrive, and emits it under
the key ``"record"``. With ``shards`` R > 1 in the parameters (model-parallel passes, see
:mod:`jobs.records`), each split emits R shard records and each of R reducers sums one
block of the coordinate fields. :class:`PartitionedOutputJob` writes rows to N part files instead.

Input lines are CSV (parsed in blocks of :data:`BLOCK_LINES`), libsvm (when the
parameters say ``"format": "libsvm"``; ``n_columns`` is then features + 1) or packed
blocks (:mod:`jobs.packed`, decoded without parsing text). A UTF-8 byte order mark, CRLF line
ends and blank lines are accepted.

The pass parameters arrive in the task's command line as base64 of compact JSON
(``--params-inline``, when small: :data:`jobs.params.INLINE_MAX_BYTES`) or as a JSON file
(``--params``), read in ``mapper_init`` by :func:`jobs.params.load_params`:
``n_columns`` (fields per row), ``n_features`` (feature columns, as the driver counts
them: jobs never derive it), ``label_col`` (or None), optionally ``weight_col`` (0-based
column of non-negative row weights, taken out of the features like the label; a negative
weight makes a bad row), optionally ``class_weights`` (label key -> weight, multiplying
the row weights; labels not listed weigh 1), ``header``
(``auto``/``yes``/``no``), optionally ``scale`` (``{"mean": [...], "std": [...]}``, or
``{"std": [...]}`` for libsvm rows: the features are scaled before any job sees them,
:func:`jobs.scaling.scaled`), optionally ``table`` (the encoding of
a table's text lines, :mod:`jobs.table`) and ``drop_columns`` (feature columns of packed
blocks to leave out: a prepared table's reference levels), optionally ``label_values`` (the raw
labels a row may have, or ``"integers"``) with ``label_rule`` (why: a row with another
label is a bad row, ``label 2: <label_rule>``) plus what the job needs. When rows are weighted, the split record
holds ``weight_sum`` (the rows' total weight) besides ``n`` (their count).
"""
import json
import warnings

import numpy as np
from mrjob.compat import jobconf_from_env
from mrjob.job import MRJob

from jobs.packed import SPARSE_MARKER, decode_block, decode_sparse_block, is_any_packed, pack_rows
from jobs.params import add_params_args, load_params
from jobs.parsing import (BLOCK_LINES, SparseRows, looks_like_header, parse_csv_block,
                          parse_libsvm_block, split_columns, stack_rows, take_rows,
                          class_weight_column)
from jobs.partitioning import keys_for_reducers
from jobs.records import base64_array, merge_all, merge_records, shard_record, split_key, to_json
from jobs.scaling import scaled
from jobs.table import encode_block
from jobs.wire import LineProtocol, WireProtocol

RECORD_KEY = "record"
COALESCED_ENTRIES = 2 ** 18
"""Fewest entries of the sparse rows a summary job's :meth:`BlockJob.process_block` gets
at once (but for a split's last rows)."""
COUNTER_GROUP = "mrlearn"
BAD_ROWS_COUNTER = "bad rows"


class BlockJob(MRJob):
    """Base job: reads CSV or packed lines and hands parsed blocks to :meth:`process_block`."""

    TEXT_OUTPUT_SEPARATOR = {"mapreduce.output.textoutputformat.separator": ","}
    """For jobs whose output lines are bare comma-separated text. Hadoop streaming splits
    each output line into key and value at a separator and writes key, separator, value:
    with "," (set for the map or reduce side by the job) a line comes out as it went in,
    as long as it holds a comma, which every such line of ours does. (An empty separator
    is read by Hadoop as "unset", so a tab would be appended.)"""

    INPUT_PROTOCOL = LineProtocol
    INTERNAL_PROTOCOL = WireProtocol
    OUTPUT_PROTOCOL = WireProtocol

    def configure_args(self):
        super(BlockJob, self).configure_args()
        add_params_args(self)
        self.add_passthru_arg(
            "--pack-parts", type=int, default=0,
            help="also write the rows parsed from text as packed blocks to this many part "
                 "files (parse once; the job then runs with one more reducer, for the record)")

    def jobconf(self):
        conf = super(BlockJob, self).jobconf()
        conf["mapreduce.job.reduces"] = "1"
        if self.options.pack_parts:
            conf.update(self.TEXT_OUTPUT_SEPARATOR,
                        **{"mapreduce.job.reduces": str(self.options.pack_parts + 1),
                           "stream.reduce.output.field.separator": ","})
        return conf

    def output_protocol(self):
        """Packing passes write bare lines: packed blocks, then the record's JSON."""
        if self.options.pack_parts:
            return LineProtocol()
        return super(BlockJob, self).output_protocol()

    def execute(self):
        """Run the task with floating-point warnings off: a task's stderr may be binary (the
        inline runner's), where printing a warning fails, and a non-finite sum is the
        driver's to judge from the record, never a task's to print."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super(BlockJob, self).execute()

    # --- mapper side -------------------------------------------------------------

    def mapper_init(self):
        _fail_if_asked()
        self.params = load_params(self.options)
        scale = self.params.get("scale")
        self.scale = scale and {k: np.asarray(v, dtype=np.float64) for k, v in scale.items()}
        self.split_file = jobconf_from_env("mapreduce.map.input.file", "")
        self.split_start = int(jobconf_from_env("mapreduce.map.input.start", "0") or 0)
        self.lines_seen = 0
        self.buffer = []
        self.buffer_first_line = 1
        self.good_lines = []
        self.split_record = {"n": 0, "bad_rows": 0, "first_bad": None,
                             "split": [self.split_file, self.split_start]}
        self.pack_keys = (keys_for_reducers(self.options.pack_parts + 1)
                          if self.options.pack_parts else None)
        self.blocks_packed = 0
        self.pending, self.pending_entries = [], 0
        self.init_split()

    def init_split(self):
        """Hook: set up per-split state after the parameters are read."""

    def mapper(self, _, line):
        self.lines_seen += 1
        if isinstance(line, bytes):  # a binary packed block (jobs.wire)
            return list(self._flush()) + list(self._packed_block(line))
        if self.lines_seen == 1 and self.split_start == 0:
            line = line.lstrip("\ufeff")
            if self.params.get("format") != "libsvm" and self._is_header(line):
                return None
        if is_any_packed(line):
            return list(self._flush()) + list(self._packed_block(line))
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
        libsvm = self.params.get("format") == "libsvm"
        packed = []
        if libsvm:
            X, y, bad = parse_libsvm_block(self.buffer, self.params["n_features"],
                                           self.params.get("hash_bits"))
            packed = self._packed_pairs(X, y)
            w = None
            if self.params["label_col"] is None:
                y = None
        elif self.params.get("table"):
            X, y, w, bad, missing_labels, rows = encode_block(self.buffer, self.params["table"])
            if missing_labels:
                self.add_to_record({"missing_labels": missing_labels})
        else:
            values, bad = parse_csv_block(self.buffer, self.params["n_columns"])
            packed = self._packed_pairs(values)
            X, y, w = self._split(values)
        row_index = (rows.tolist if self.params.get("table") and not libsvm
                     else lambda: self._row_index(bad, libsvm))
        X, y, w, bad = self._check_rows(X, y, w, bad, row_index)
        if bad:
            self._note_bad_rows(bad)
        if self.keeps_lines:
            bad_index = {i for i, _ in bad}
            self.good_lines = [line for i, line in enumerate(self.buffer)
                               if i not in bad_index and line.strip()]
        self.buffer = []
        return packed + list(self._process(X, y, w))

    def _packed_pairs(self, values, labels=None):
        """With ``--pack-parts N``: (part key, packed line) pairs of the rows parsed from
        text (every well-formed row, label checks aside: later passes make them), blocks
        of :data:`jobs.packed.PACKED_BLOCK_ROWS` dealt round-robin to the N parts.
        ``values``: CSV rows (rows, columns), or libsvm features with their ``labels``
        (dense ones packed as CSV rows, the label first)."""
        if not self.pack_keys:
            return []
        if isinstance(values, np.ndarray) and labels is not None:
            values, labels = np.column_stack([labels, values]), None
        pairs = pack_rows(values, self.blocks_packed, self.options.pack_parts, labels)
        self.blocks_packed += len(pairs)
        return [(self.pack_keys[part], line) for part, line in pairs]

    def _row_index(self, bad, libsvm):
        """Buffer index (list) of each parsed row: the lines neither bad nor blank."""
        skipped = {i for i, _ in bad}
        return [i for i, line in enumerate(self.buffer) if i not in skipped
                and (line.split("#", 1)[0] if libsvm else line).strip()]

    def _split(self, values):
        """Features, labels and weight column (or None) of parsed rows (see split_columns)."""
        return split_columns(values, self.params["label_col"], self.params.get("weight_col"))

    def _check_rows(self, X, y, w, bad, row_index):
        """Drop the rows whose label is not in the parameters' ``label_values`` (or, with
        ``label_values`` "integers", not an integer) and those with a negative weight.

        They join ``bad`` (list of (buffer index, reason), kept in index order) as
        ``label 2: <label_rule>`` or ``weight -1: ...``; ``row_index()`` gives each parsed
        row's buffer index and is only called when a row is wrong. Returns
        ``(X, y, w, bad)``.
        """
        allowed = self.params.get("label_values")
        ok = np.ones(X.shape[0], dtype=bool)
        if allowed is not None and y is not None:
            ok = y == np.floor(y) if allowed == "integers" else np.isin(y, allowed)
        if w is not None:
            ok &= w >= 0
        if ok.all():
            return X, y, w, bad
        index = row_index()
        wrong = [(index[i], self._reason(y, w, i)) for i in np.flatnonzero(~ok)]
        return (take_rows(X, ok), None if y is None else y[ok], None if w is None else w[ok],
                sorted(bad + wrong))

    def _reason(self, y, w, i):
        if w is not None and w[i] < 0:
            return ("weight %.15g in column %d: weights must be >= 0 (--weight-col)"
                    % (w[i], self.params["weight_col"] + 1))
        return "label %.15g: %s" % (y[i], self.params["label_rule"])

    def _packed_block(self, line):
        text = line if isinstance(line, str) else line[:200].decode("latin_1")
        self.buffer, self.buffer_first_line = [text], self.lines_seen
        try:
            X, y, w = self._decode(line)
        except ValueError as e:
            self._note_bad_rows([(0, str(e))])
            self.buffer = []
            return []
        X, y, w, bad = self._check_rows(X, y, w, [], lambda: [0] * X.shape[0])
        if bad:
            self._note_bad_rows(bad)
        self.buffer = []
        return self._process(X, y, w)

    def _decode(self, line):
        """``(X, y, w)`` of a packed line (see :meth:`_split`); ValueError if it is damaged,
        RuntimeError if it is another input's."""
        if not isinstance(line, str) or line.startswith(SPARSE_MARKER):
            X, y = decode_sparse_block(line)
            width, expected = X.shape[1], self.params["n_features"]
            w = None
        else:
            values = decode_block(line)
            width, expected = values.shape[1], self.params["n_columns"]
            X, y, w = self._split(values)
            if self.params.get("drop_columns"):  # reference levels of a prepared table
                X = np.delete(X, self.params["drop_columns"], axis=1)
        if width != expected:
            raise RuntimeError("packed block of %d columns in %s, expected %d"
                               % (width, self.split_file, expected))
        return X, y, w

    def _process(self, X, y, w):
        if self.scale:
            X = scaled(X, self.scale)
        class_weights = self.params.get("class_weights")
        if class_weights:
            cw = class_weight_column(y, class_weights)
            w = cw if w is None else w * cw
        if w is not None:
            self.split_record = merge_records(self.split_record, {"weight_sum": float(w.sum())})
        if not (self.coalesces_sparse_rows and isinstance(X, SparseRows)):
            return self.process_block(X, y, w) or []
        self.pending.append((X, y, w))
        self.pending_entries += len(X.val)
        if self.pending_entries >= max(COALESCED_ENTRIES, self.params["n_features"]):
            return self._process_pending()
        return []

    coalesces_sparse_rows = True
    """Summary jobs hand sparse rows to :meth:`process_block` in blocks of at least
    max(:data:`COALESCED_ENTRIES`, d) entries: a block's products cost O(d) besides its
    entries (the gradient's d-vector, its merge), which 4096 rows of 40 entries at d = 2^20
    would not amortize (0.25 s of a mapper's 100k rows instead of 0.18). The rows pending
    take 24 bytes an entry: at most 3 d-vectors."""

    def _process_pending(self):
        if not self.pending:
            return []
        X, y, w = zip(*self.pending)
        self.pending, self.pending_entries = [], 0
        return self.process_block(stack_rows(list(X)), None if y[0] is None else np.concatenate(y),
                                  None if w[0] is None else np.concatenate(w)) or []

    keeps_lines = False
    """Jobs that re-emit the raw text of good rows set this; see ``good_lines``."""

    def _note_bad_rows(self, bad):
        self.increment_counter(COUNTER_GROUP, BAD_ROWS_COUNTER, len(bad))
        index, reason = bad[0]
        report = {"file": self.split_file, "split_start": self.split_start,
                  "line_in_split": self.buffer_first_line + index,
                  "text": self.buffer[index][:200], "reason": reason}
        self.split_record = merge_records(
            self.split_record, {"bad_rows": len(bad), "first_bad": report})

    def process_block(self, X, y, w):
        """Handle one parsed block: ``X`` (k, d) features, ``y`` (k,) raw labels or None,
        ``w`` (k,) row weights (>= 0: the weight column times the class weight of the
        row's label) or None when every row weighs 1 (the fast path: no product by ones).

        Summary jobs fold the block into the split record (:meth:`add_to_record`) and
        return nothing; jobs with other output return (key, value) pairs to emit.
        """
        raise NotImplementedError

    def add_to_record(self, partial):
        """Merge a partial record (dict of sums) into this split's record."""
        self.split_record = merge_records(self.split_record, partial)

    def mapper_final(self):
        for pair in list(self._flush()) + self._process_pending():
            yield pair
        for pair in self.final_pairs():
            yield pair

    def final_pairs(self):
        """Pairs emitted once per split: the split record (when packing, to the last
        reducer), or with the parameters' ``shards`` R its R shard records
        (:func:`jobs.records.shard_record`), each keyed for its reducer, in split order."""
        if self.pack_keys:
            yield self.pack_keys[-1], self.split_record
            return
        shards = self.params.get("shards", 1)
        record = dict(self.split_record)
        split = record.pop("split")
        for shard, part in enumerate(shard_record(record, shards)):
            yield split_key(split, shard, shards), part

    # --- reducer side --------------------------------------------------------------

    merged = None
    """A reducer's merge of the (shard) records it has read so far, in key order."""

    def reducer(self, key, records):
        """Merge the split records of one pass into one record: a reducer reads its keys,
        one a split, in split order, and holds only the running sum (one record, or with
        shards one block of it). When packing, the record is a bare JSON line of the last
        part file and packed blocks pass through to theirs."""
        if not self.options.pack_parts:
            for record in records:
                self.merged = merge_records(self.merged or {}, record)
        elif key == keys_for_reducers(self.options.pack_parts + 1)[-1]:
            yield None, json.dumps(to_json(merge_split_records(records), compact=base64_array))
        else:
            for line in records:
                yield None, line

    def reducer_final(self):
        if self.merged is not None:
            yield RECORD_KEY, self.merged


def _fail_if_asked():
    """Fault injection for tests: jobconf ``mrlearn.test.fail.attempts=first`` fails each map
    task's first attempt (the framework retries it); ``=all`` fails every attempt."""
    mode = jobconf_from_env("mrlearn.test.fail.attempts")
    attempt = jobconf_from_env("mapreduce.task.attempt.id", "")
    if mode == "all" or (mode == "first" and attempt.endswith("_0")):
        raise RuntimeError("injected failure of task attempt %s (mrlearn.test.fail.attempts=%s)"
                           % (attempt, mode))


def merge_split_records(records):
    """Merge split records in the order of their splits (file, start), dropping the split."""
    ordered = sorted(records, key=lambda r: tuple(r.pop("split")))
    return merge_all(ordered)


class PartitionedOutputJob(BlockJob):
    """A job writing rows to exactly ``parts`` part files plus one summary file.

    Parameters add ``parts`` (N). The job must run with N + 1 reducers: part file ``i``
    (i < N) holds what :meth:`process_block` sent to part ``i`` (text values, written as
    they are); part file ``N`` holds one JSON line, the merged split records (row count,
    bad rows, and whatever the job added). Subclasses return ``(part index, text)`` pairs
    from :meth:`process_block`.
    """

    OUTPUT_PROTOCOL = LineProtocol
    coalesces_sparse_rows = False  # its blocks' output follows their lines

    def jobconf(self):
        return dict(super(PartitionedOutputJob, self).jobconf(),
                    **dict(self.TEXT_OUTPUT_SEPARATOR,
                           **{"stream.reduce.output.field.separator": ","}))

    def init_split(self):
        self.part_keys = keys_for_reducers(self.params["parts"] + 1)

    def key_for(self, part):
        """Hook: the map output key sending text to part file ``part``."""
        return self.part_keys[part]

    def mapper(self, key, line):
        return [(self.key_for(part), text) for part, text in super().mapper(key, line) or []]

    def final_pairs(self):
        for part, text in self.final_parts():
            yield self.key_for(part), text
        yield self.part_keys[-1], self.split_record

    def final_parts(self):
        """Hook: (part index, text) pairs to emit at the end of a split."""
        return []

    def mapper_final(self):
        for part, text in self._flush():
            yield self.key_for(part), text
        for pair in self.final_pairs():
            yield pair

    def reducer_init(self):
        self.summary_key = keys_for_reducers(load_params(self.options)["parts"] + 1)[-1]

    def reducer(self, key, values):
        if key == self.summary_key:
            yield None, json.dumps(to_json(merge_split_records(values)))
        else:
            for text in values:
                yield None, text
