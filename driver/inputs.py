"""What the driver knows about the input: its files, row width, label column and header.

The driver reads only the first lines of the first file (to learn the number of columns
and whether a header is there); the rows themselves are read by the passes. Bad rows that
a pass reports are turned here into one message naming the file and line.
"""
import json
import os

import hdfs_utils
from driver.errors import MrlearnError
from driver.table import (HEAD_LINES, TableOptions, column_index, detect_sep,
                          table_for_header, table_plan)
from jobs.packed import is_packed, packed_columns
from jobs.table import split_fields
from jobs.parsing import (DENSE_MAX_FEATURES, HASH_FEATURES_MAX_BITS, count_columns,
                           looks_like_header)

HEADER_MODES = ("auto", "yes", "no")
FORMATS = ("auto", "csv", "libsvm")


class InputSpec:
    """Input files and CSV layout shared by every pass over them.

    ``files``: expanded list of paths/URIs; ``n_columns``: fields per row (label
    included); ``label_col``: 0-based label column; ``header``: ``auto``/``yes``/``no``;
    ``weight_col``: 0-based column of row weights (CSV and packed rows), or None.
    """

    def __init__(self, files, n_columns, label_col, header, packed=False, format="csv"):
        self.plan = None   # a table to fit (driver.table.table_plan), or None
        self.table = None  # a table's encoding (jobs.table), once fitted or from a model
        self.drop_columns = []  # packed columns of a prepared table a fit leaves out
        self.files = files
        self.n_columns = n_columns
        self.label_col = label_col
        self.weight_col = None
        self.header = header
        self.packed = packed
        self.format = format
        self.hash_bits = None  # libsvm indices hashed into 2^hash_bits columns, or None

    @property
    def n_features(self):
        """Feature columns: the one definition, sent to every pass as ``n_features``."""
        if self.format == "libsvm":
            return self.n_columns - 1
        if self.table:
            return self.table["n_features"]
        return (self.n_columns - (0 if self.label_col is None else 1)
                - (0 if self.weight_col is None else 1))

    @property
    def sparse(self):
        """True when blocks reach the kernels as sparse rows (wide libsvm input)."""
        return self.format == "libsvm" and self.n_features > DENSE_MAX_FEATURES

    def params(self):
        """The part of every pass's parameters that describes the input."""
        params = {"n_columns": self.n_columns, "n_features": self.n_features,
                  "label_col": self.label_col, "header": self.header, "format": self.format}
        if self.weight_col is not None:
            params["weight_col"] = self.weight_col
        if self.table:
            params["table"] = self.table
        if self.drop_columns:
            params["drop_columns"] = self.drop_columns
        if self.hash_bits:
            params["hash_bits"] = self.hash_bits
        return params

    def feature_columns(self):
        """The 0-based columns that hold features (CSV and packed rows)."""
        return [j for j in range(self.n_columns) if j not in (self.label_col, self.weight_col)]


def describe_inputs(paths, label_col=0, header="auto", format="auto", n_features=None,
                    weight_col=None, table_options=None, hash_bits=None,
                    hashing="--hash-features applies to libsvm input"):
    """:func:`describe_layout`, with ``weight_col`` (0-based column of row weights, its name,
    or None) checked against the layout: a CSV or packed column other than the label's. A
    name makes the input a table (its names come from the header). ``hash_bits`` B: libsvm
    indices of any size hashed into 2^B feature columns (instead of ``n_features``);
    ``hashing`` says why, when the input is not libsvm."""
    if isinstance(weight_col, str):
        table_options = TableOptions.from_json(dict((table_options or TableOptions()).to_json(),
                                                    weight=weight_col))
    if hash_bits:
        n_features = _hashed_width(hash_bits, n_features)
    spec = describe_layout(paths, label_col, header, format, n_features, table_options)
    if hash_bits:
        if spec.format != "libsvm":
            raise MrlearnError("%s; %s is %s" % (
                hashing, spec.files[0], "packed" if spec.packed else "CSV (a table hashes its text "
                                                            "columns with --hash-categorical)"))
        spec.hash_bits = hash_bits
    if weight_col is None:
        return spec
    if isinstance(weight_col, str):
        names = spec.plan["names"] if spec.plan else None
        weight_col = column_index(names, spec.n_columns, weight_col, "--weight-col")
    if spec.format == "libsvm":
        raise MrlearnError("--weight-col applies to CSV and packed input, not libsvm (%s); "
                           "convert the file to CSV with the weights in a column" % spec.files[0])
    if not -spec.n_columns <= weight_col < spec.n_columns:
        raise MrlearnError("--weight-col %d is outside the %d columns of %s"
                           % (weight_col, spec.n_columns, spec.files[0]))
    if weight_col % spec.n_columns == spec.label_col:
        raise MrlearnError("--weight-col %d is the label column; give the column of the row "
                           "weights" % weight_col)
    if spec.n_columns - (spec.label_col is not None) < 2:
        raise MrlearnError("%s has no feature column besides the weight%s"
                           % (spec.files[0], " and the label" if spec.label_col is not None else ""))
    spec.weight_col = weight_col % spec.n_columns
    return spec


def _hashed_width(hash_bits, n_features):
    """2^hash_bits, the width of hashed libsvm rows; refuses ``--n-features`` beside it."""
    if n_features:
        raise MrlearnError("give --n-features (the highest libsvm index) or --hash-features "
                           "(indices hashed into 2^B columns), not both")
    if not 1 <= hash_bits <= HASH_FEATURES_MAX_BITS:
        raise MrlearnError("--hash-features B needs 1 <= B <= %d (2^B columns), not %d"
                           % (HASH_FEATURES_MAX_BITS, hash_bits))
    return 1 << hash_bits


def describe_layout(paths, label_col=0, header="auto", format="auto", n_features=None,
                    table_options=None):
    """Expand ``paths`` (files, directories, globs) and read the layout off the first file.

    ``label_col`` None: no label column, every column is a feature. ``format``: ``csv``,
    ``libsvm`` (needs ``n_features``) or ``auto`` (packed, libsvm or CSV, from the first
    line). A CSV that is a table (:mod:`driver.table`; ``table_options`` a
    :class:`driver.table.TableOptions` or None) gets its ``plan``; its ``label_col`` may
    be the name ``table_options.label``.
    """
    if format not in FORMATS:
        raise MrlearnError("--format must be one of %s, not %r" % (", ".join(FORMATS), format))
    if header not in HEADER_MODES:
        raise MrlearnError("--header must be one of %s, not %r" % (", ".join(HEADER_MODES), header))
    files = _expand(paths)
    first, head = _first_lines(files)
    if is_packed(head[0]):
        return _packed_spec(files, label_col, packed_columns(head[0]))
    if format == "libsvm" or (format == "auto" and _looks_like_libsvm(head[0])):
        if not n_features or n_features < 1:
            raise MrlearnError("%s is libsvm: give --n-features D (the highest feature index) "
                               "so that every split agrees on the width" % first)
        return InputSpec(files, n_features + 1, None if label_col is None else 0, "no",
                         format="libsvm")
    options = table_options or TableOptions()
    plan, has_header = table_plan(first, head, header, options)
    if plan:
        return _table_spec(files, head, plan, has_header, label_col, options)
    if header == "yes" or (header == "auto" and looks_like_header(head[0])):
        head = head[1:]
    if not head or not head[0].strip():
        raise MrlearnError("%s: no data row on line 1 or 2; is it the right file?" % first)
    return InputSpec(files, count_columns(head[0]), _label_col([first], count_columns(head[0]),
                                                              label_col), header)


def _expand(paths):
    """The files of ``paths`` (files, directories, globs), each checked to be readable."""
    try:
        files = hdfs_utils.expand(paths)
    except FileNotFoundError as e:
        raise MrlearnError("input %s matches no file; check --input" % e.args[0])
    for path in files:
        try:
            hdfs_utils.check_compressed(path)
        except (OSError, EOFError) as e:
            raise MrlearnError("%s is damaged or truncated (%s); copy it again" % (path, e))
    return files


def describe_table_inputs(paths, table, header="auto", weight_col=None):
    """Describe ``paths`` for applying a model fitted on a table with encoding ``table``:
    the separator detected anew, columns found by name when the files have a header (any
    order, extra columns ignored, the label optional), else in the model's order;
    ``weight_col`` (number or name) makes a column the row weights."""
    files = _expand(paths)
    first, head = _first_lines(files)
    if is_packed(head[0]):
        raise MrlearnError("%s is packed by prepare; apply a model of a table to the table "
                           "itself (its encoding is in the model)" % first)
    sep = detect_sep([line for line in head[:20] if line.strip()])
    rows = [row for row in split_fields(head, sep) if row]
    used = {c["name"] for c in table["columns"] if c["role"] == "feature"}
    names = rows[0] if header == "yes" or (header == "auto" and used <= set(rows[0])) else None
    fitted = dict(table_for_header(table, names, first), sep=sep)
    if names is None and len(rows[0]) != table["n_columns"]:
        raise MrlearnError("%s has %d columns on its first line and no header naming the "
                           "model's columns (%s); add the header line" % (
                               first, len(rows[0]), ", ".join(sorted(used)[:10])))
    fitted["columns"] = [dict(c, role="ignored") if c["role"] == "weight" else c
                         for c in fitted["columns"]]  # weights only with --weight-col
    if weight_col is not None:
        j = column_index(names, fitted["n_columns"], weight_col, "--weight-col")
        if fitted["columns"][j]["role"] != "ignored":
            raise MrlearnError("--weight-col %s is a %s column of the model"
                               % (weight_col, fitted["columns"][j]["role"]))
        fitted["columns"][j] = {"name": fitted["columns"][j]["name"], "role": "weight"}
    roles = [c["role"] for c in fitted["columns"]]
    spec = InputSpec(files, fitted["n_columns"], roles.index("label") if "label" in roles
                     else None, "yes" if names else "no")
    spec.weight_col = roles.index("weight") if "weight" in roles else None
    spec.table = fitted
    return spec


def _table_spec(files, head, plan, has_header, label_col, options):
    n_columns = len(next(row for row in split_fields(head, plan["sep"]) if row))
    if options.label is not None:
        label_col = column_index(plan["names"], n_columns, options.label, "--label")
    spec = InputSpec(files, n_columns, _label_col(files, n_columns, label_col),
                     "yes" if has_header else "no")
    spec.plan = plan
    return spec


def _first_lines(files):
    """``(path, first HEAD_LINES lines, or those of its first MiB)`` of the first file that is not empty (Hadoop outputs and
    ``prepare`` leave empty part files; they hold no rows and are no error)."""
    for path in files:
        try:
            head = [line.lstrip("\ufeff") for line in hdfs_utils.head_lines(path, HEAD_LINES, 1 << 20)]
        except (OSError, EOFError) as e:
            raise MrlearnError("cannot read %s (%s); is it a complete file?" % (path, e))
        if any(line.strip() for line in head):
            if "\x00" in head[0] or "\ufffd" in head[0]:
                raise MrlearnError("%s is not UTF-8 text (UTF-16 or binary?); save it as UTF-8 "
                                   "CSV or libsvm" % path)
            return path, head
    raise MrlearnError("every input file is empty (%s); check --input" % ", ".join(files[:3]))


def _looks_like_libsvm(line):
    fields = line.split("#", 1)[0].split()
    return "," not in line and len(fields) > 1 and all(":" in f for f in fields[1:])


def _packed_spec(files, label_col, n_columns):
    return InputSpec(files, n_columns, _label_col(files, n_columns, label_col), "no", packed=True)


def _label_col(files, n_columns, label_col):
    if label_col is None:
        return None
    if n_columns < 2:
        raise MrlearnError("%s: the first data row has %d field; need a label and at least "
                           "one feature, comma-separated" % (files[0], n_columns))
    if not -n_columns <= label_col < n_columns:
        raise MrlearnError("--label-col %d is outside the %d columns of %s"
                           % (label_col, n_columns, files[0]))
    return label_col % n_columns


STATS_FILE = "_mrlearn_stats.json"


def prepared_stats(spec):
    """The column statistics ``mrlearn prepare`` wrote beside packed input (a dict)."""
    directory = spec.files[0].rsplit("/", 1)[0]
    path = directory + "/" + STATS_FILE
    if not spec.packed or not hdfs_utils.exists(path):
        raise MrlearnError("--standardize needs input written by `mrlearn prepare` (its %s "
                           "holds the column statistics) or libsvm input; %s has none: train "
                           "on the output of `mrlearn prepare`" % (STATS_FILE, directory))
    return json.loads(hdfs_utils.read_text(path))


DEFAULT_MAX_BAD_FRACTION = 0.1


def check_bad_rows(record, skip_bad_rows, max_bad_fraction=DEFAULT_MAX_BAD_FRACTION):
    """Raise MrlearnError naming the first bad row, unless ``skip_bad_rows``.

    Skipping still fails when bad rows exceed ``max_bad_fraction`` of all rows. ``record``
    is a pass record with ``n`` (good rows), ``bad_rows`` (count) and ``first_bad``.
    """
    bad_rows = record.get("bad_rows")
    if not bad_rows:
        return
    if skip_bad_rows:
        fraction = bad_rows / float(bad_rows + record.get("n", 0))
        if fraction <= max_bad_fraction:
            return
        raise MrlearnError("%d of %d rows (%.1f%%) are malformed, more than --max-bad-fraction "
                           "%g allows; is this the right input? (first: %s)" % (
                               bad_rows, bad_rows + record.get("n", 0), 100 * fraction,
                               max_bad_fraction, _where(record["first_bad"])))
    bad = record["first_bad"]
    shown = "\n    %s" % bad["text"] if bad["text"] else ""
    raise MrlearnError(
        "bad input in %s: %s%s\n%d malformed row(s) in all. Fix the file, or pass "
        "--skip-bad-rows to skip and count them." % (
            _where(bad), bad["reason"], shown, bad_rows))


def _where(bad):
    """``file, line N`` for a bad-row report."""
    path = hdfs_utils.local_path(bad["file"])
    line = absolute_line(path, bad["split_start"], bad["line_in_split"])
    if line:
        return "%s, line %d" % (path, line)
    return "%s, line %d of the split starting at byte %d" % (
        path, bad["line_in_split"], bad["split_start"])


def absolute_line(path, split_start, line_in_split):
    """1-based line number in ``path`` of line ``line_in_split`` of a split at ``split_start``.

    Exact for splits starting at 0; for later splits it counts newlines up to the split
    (local, uncompressed files only), else returns None.
    """
    if split_start == 0:
        return line_in_split
    if hdfs_utils.is_uri(path) or not os.path.isfile(path) or path.endswith((".gz", ".bz2")):
        return None
    lines_before, remaining, last = 0, split_start, b"\n"
    with open(path, "rb") as f:
        while remaining:
            chunk = f.read(min(remaining, 1 << 20))
            if not chunk:
                break
            lines_before += chunk.count(b"\n")
            remaining -= len(chunk)
            last = chunk[-1:]
    if last != b"\n":
        lines_before += 1  # Hadoop gives a split's partial first line to the previous split
    return lines_before + line_in_split
