"""What the driver knows about the input: its files, row width, label column and header.

The driver reads only the first lines of the first file (to learn the number of columns
and whether a header is there); the rows themselves are read by the passes. Bad rows that
a pass reports are turned here into one message naming the file and line.
"""
import os

import hdfs_utils
from driver.errors import MrlearnError
from jobs.parsing import count_columns, looks_like_header

HEADER_MODES = ("auto", "yes", "no")


class InputSpec:
    """Input files and CSV layout shared by every pass over them.

    ``files``: expanded list of paths/URIs; ``n_columns``: fields per row (label
    included); ``label_col``: 0-based label column; ``header``: ``auto``/``yes``/``no``.
    """

    def __init__(self, files, n_columns, label_col, header):
        self.files = files
        self.n_columns = n_columns
        self.label_col = label_col
        self.header = header

    @property
    def n_features(self):
        return self.n_columns - (0 if self.label_col is None else 1)

    def params(self):
        """The part of every pass's parameters that describes the input."""
        return {"n_columns": self.n_columns, "label_col": self.label_col, "header": self.header}


def describe_inputs(paths, label_col=0, header="auto"):
    """Expand ``paths`` (files, directories, globs) and read the layout off the first file.

    ``label_col`` None: no label column, every column is a feature.
    """
    if header not in HEADER_MODES:
        raise MrlearnError("--header must be one of %s, not %r" % (", ".join(HEADER_MODES), header))
    try:
        files = hdfs_utils.expand(paths)
    except FileNotFoundError as e:
        raise MrlearnError("input %s matches no file; check --input" % e.args[0])
    head = [line for line in hdfs_utils.head_lines(files[0], 2)]
    if head and (header == "yes" or (header == "auto" and looks_like_header(head[0]))):
        head = head[1:]
    if not head or not head[0].strip():
        raise MrlearnError("%s: no data row on line 1 or 2; is it the right file?" % files[0])
    n_columns = count_columns(head[0])
    if label_col is None:
        return InputSpec(files, n_columns, None, header)
    if n_columns < 2:
        raise MrlearnError("%s: the first data row has %d field; need a label and at least "
                           "one feature, comma-separated" % (files[0], n_columns))
    if not -n_columns <= label_col < n_columns:
        raise MrlearnError("--label-col %d is outside the %d columns of %s"
                           % (label_col, n_columns, files[0]))
    return InputSpec(files, n_columns, label_col % n_columns, header)


def check_bad_rows(record, skip_bad_rows):
    """Raise MrlearnError naming the first bad row, unless ``skip_bad_rows``.

    ``record`` is a pass record with ``bad_rows`` (count) and ``first_bad`` (report).
    """
    if not record.get("bad_rows") or skip_bad_rows:
        return
    bad = record["first_bad"]
    path = hdfs_utils.local_path(bad["file"])
    line = absolute_line(path, bad["split_start"], bad["line_in_split"])
    where = "line %d" % line if line else "line %d of the split starting at byte %d" % (
        bad["line_in_split"], bad["split_start"])
    shown = "\n    %s" % bad["text"] if bad["text"] else ""
    raise MrlearnError(
        "bad input in %s, %s: %s%s\n%d malformed row(s) in all. Fix the file, or pass "
        "--skip-bad-rows to skip and count them." % (
            path, where, bad["reason"], shown, record["bad_rows"]))


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
