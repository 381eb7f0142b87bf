"""Tables as they are: CSV dialects, named columns, missing values, text columns.

A *table* description (the pass parameter ``table``, a JSON dict) says how to read a CSV
line block and turn it into numbers:

- ``sep``: the field separator; ``na_values``: the tokens that mean "missing" (compared
  after stripping spaces; with ``na_error`` a missing feature value makes a bad row);
  ``n_columns``: fields per row.
- ``columns``: one dict per input column, in file order, with ``name``, ``role``
  (``feature``, ``label``, ``weight`` or ``ignored``) and, for features and labels, ``type``:
  ``numeric`` (with ``mean``, the value a missing feature takes, and ``indicator``: a 0/1
  column "was missing" follows it) or ``categorical`` (with
  ``levels``, the sorted kept levels, ``null`` standing for "missing", and ``drop_first``:
  the first level gets no column, the reference of an unpenalized fit) or ``hashed``
  (signed hashing, :func:`hash_values`, into the ``2^hash_bits`` columns that all hashed
  columns share); a feature's ``offset`` is its first column in the encoded rows.
- ``n_features``: the width of the encoded rows.

Encoded rows (:func:`encode_block`) hold, per feature column in the order of the file
the encoding was fitted on (the columns of another file may come in any order), one number
(numeric) or one 0/1 column per kept level (categorical, minus the first with
``drop_first``); a level not kept (rare, or unseen in training) encodes as all zeros, as
scikit-learn's ``OneHotEncoder(handle_unknown='ignore')``. A categorical label becomes the
index of its level (0 .. K-1). A row without a label is skipped and counted
(``missing_labels``), unless ``keep_unlabeled`` (predict: its label is NaN, or -1 for text); a row whose field count is wrong, whose numeric field is text, or
whose label was not seen in training is a bad row.

The schema pass (:func:`schema_block`) summarizes each column before any encoding exists:
missing values, the numbers (count and sum, for the imputation mean) and the text values'
counts (the levels), merged across blocks and splits by :func:`merge_schema`.

Quoting follows RFC 4180 (``"a, b"`` and ``""`` inside quotes) through the csv module;
blocks without a quote character take the fast path of ``str.split``. A quoted field
cannot hold a line break: Hadoop splits input at line ends.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import csv
import zlib

import numpy as np

from jobs.parsing import MAX_ABS_VALUE, is_number

NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")
"""Tokens read as "missing" unless ``--na-values`` gives others."""
LEVELS_CAP = 100000
"""Distinct text values a column's schema keeps; a column with more is ``overflow`` (its
levels are dropped from the summary, and the driver refuses it as a categorical column)."""
MISSING_LEVEL = "\x00missing"
"""How a missing categorical value is matched against the kept levels (``null`` in JSON)."""


def split_fields(lines, sep):
    """Fields (list of lists of str, spaces stripped) of CSV ``lines``; blank lines give []."""
    if any('"' in line for line in lines):
        rows = csv.reader(lines, delimiter=sep, skipinitialspace=True)
        return [[f.strip() for f in row] if any(row) or len(row) > 1 else [] for row in rows]
    return [[f.strip() for f in line.split(sep)] if line.strip() else [] for line in lines]


def _columns(fields, n_columns):
    """``(columns, kept, bad)``: the rows of ``n_columns`` fields as one str array (k,) per
    column, the indices (into ``fields``) of those rows, and ``(index, reason)`` of the rows
    of another width (blank rows are neither)."""
    kept = [i for i, row in enumerate(fields) if len(row) == n_columns]
    bad = [(i, "expected %d fields, found %d (check --sep and the quoting)" % (n_columns, len(row)))
           for i, row in enumerate(fields) if row and len(row) != n_columns]
    if not kept:
        return [np.array([], dtype=str) for _ in range(n_columns)], kept, bad
    columns = [np.array(col, dtype=str) for col in zip(*[fields[i] for i in kept])]
    return columns, kept, bad


def _numbers(values):
    """``(numbers (k,), ok (k,) bool)``: ``values`` (str array) as float64; NaN where a value
    is text, infinite or beyond MAX_ABS_VALUE (only the distinct values are examined one by
    one, and only when the array does not convert as a whole)."""
    try:
        numbers = values.astype(np.float64)
    except ValueError:
        distinct, inverse = np.unique(values, return_inverse=True)
        as_float = np.array([float(v) if is_number(v) else np.nan for v in distinct.tolist()])
        numbers = as_float[inverse.reshape(-1)]
    ok = np.abs(numbers) <= MAX_ABS_VALUE
    return np.where(ok, numbers, np.nan), ok


# --- the schema pass ---------------------------------------------------------------------

def schema_block(lines, table):
    """``(summary, n_rows, bad)`` of a block of ``lines`` under the pre-schema ``table``
    (``sep``, ``na_values``, ``n_columns``, ``categorical``: columns whose values are all
    levels). ``summary``: one dict per column with ``missing``, ``numbers``, ``sum`` and
    ``levels`` (text value -> count; for ``categorical`` columns every present value)."""
    fields = split_fields(lines, table["sep"])
    columns, kept, bad = _columns(fields, table["n_columns"])
    forced = set(table.get("categorical", []))
    summary = []
    for j, values in enumerate(columns):
        missing = np.isin(values, table["na_values"])
        present = values[~missing]
        if j in forced:
            numbers, ok = np.zeros(0), np.zeros(0, dtype=bool)
            text = present
        else:
            numbers, ok = _numbers(present)
            text = present[~ok]
        distinct, counts = np.unique(text, return_counts=True)
        summary.append({"missing": int(missing.sum()), "numbers": int(ok.sum()),
                        "sum": float(numbers[ok].sum()),
                        "levels": dict(zip(distinct.tolist(), counts.tolist()))})
    return summary, len(kept), bad


def merge_schema(a, b):
    """The summary of the rows of two :func:`schema_block` summaries (lists per column)."""
    return [_merge_column(x, y) for x, y in zip(a, b)]


def _merge_column(x, y):
    levels = dict(x["levels"])
    for level, count in y["levels"].items():
        levels[level] = levels.get(level, 0) + count
    overflow = x.get("overflow", False) or y.get("overflow", False) or len(levels) > LEVELS_CAP
    return {"missing": x["missing"] + y["missing"], "numbers": x["numbers"] + y["numbers"],
            "sum": x["sum"] + y["sum"], "levels": {} if overflow else levels,
            "overflow": overflow}


# --- encoding ------------------------------------------------------------------------------

def encode_block(lines, table):
    """Encode a block of CSV ``lines`` with ``table`` (see the module doc).

    Returns ``(X (k, n_features), y (k,) or None, w (k,) or None, bad, missing_labels,
    rows)``: ``bad`` lists ``(index in lines, reason)``, ``missing_labels`` counts the rows
    skipped for a missing label, ``rows`` (k,) gives the index in ``lines`` of each row of X.
    """
    fields = split_fields(lines, table["sep"])
    columns, kept, bad = _columns(fields, table["n_columns"])
    k = len(kept)
    X = np.zeros((k, table["n_features"]))
    y = w = None
    ok = np.ones(k, dtype=bool)
    reasons = [None] * k
    missing_label = np.zeros(k, dtype=bool)
    for spec, values in zip(table["columns"], columns):
        role = spec["role"]
        if role == "ignored":
            continue
        missing = np.isin(values, table["na_values"])
        if role == "feature" and table.get("na_error"):
            _flag(ok, reasons, missing, "column %r: %%r is a missing value (--na error)"
                  % spec["name"], values)
        if role == "feature" and spec["type"] == "numeric":
            numbers, good = _numbers(values)
            _flag(ok, reasons, ~good & ~missing, "column %r: %%r is not a number (if it means "
                  "missing, add it to --na-values)" % spec["name"], values)
            X[:, spec["offset"]] = np.where(missing, spec["mean"], np.nan_to_num(numbers))
            if spec.get("indicator"):
                X[:, spec["offset"] + 1] = missing
        elif role == "feature" and spec["type"] == "hashed":
            index, sign = hash_values(spec["name"], values, missing, table["hash_bits"])
            X[np.arange(k), spec["offset"] + index] += sign
        elif role == "feature":
            index = _level_index(values, missing, spec["levels"])
            first = 1 if spec.get("drop_first") else 0
            hit = index >= first
            X[np.flatnonzero(hit), spec["offset"] + index[hit] - first] = 1.0
        elif role == "label":
            missing_label |= missing
            if spec["type"] == "categorical":
                y = _level_index(values, missing, spec["levels"]).astype(np.float64)
                seen = ", ".join(map(str, spec["levels"][:5])).replace("%", "%%")
                _flag(ok, reasons, (y < 0) & ~missing,
                      "label %r was not seen in training (classes: " + seen + ")", values)
            else:
                y, good = _numbers(values)
                _flag(ok, reasons, ~good & ~missing, "label %r is not a number", values)
        else:  # weight
            w, good = _numbers(values)
            _flag(ok, reasons, ~good, "weight %%r in column %r is not a number" % spec["name"],
                  values)
    bad = bad + [(kept[i], reasons[i]) for i in np.flatnonzero(~ok)]
    if table.get("keep_unlabeled"):
        missing_label[:] = False
    keep = ok & ~missing_label
    rows = np.asarray(kept, dtype=np.int64)[keep]
    return (X[keep], None if y is None else y[keep], None if w is None else w[keep],
            sorted(bad), int((ok & missing_label).sum()), rows)


def hash_values(name, values, missing, bits):
    """``(index (k,), sign (k,))`` of the text ``values`` (k,) of column ``name`` in a space
    of 2^bits columns: CRC-32 of ``name=value`` (``name=`` plus a NUL for a missing value),
    the sign from CRC-32 started at 1 (stable across machines and Python versions, unlike
    ``hash``); only the distinct values are hashed one by one."""
    keys = np.where(missing, MISSING_LEVEL, values)
    distinct, inverse = np.unique(keys, return_inverse=True)
    encoded = [("%s=%s" % (name, v)).encode("utf-8") for v in distinct.tolist()]
    index = np.array([zlib.crc32(e) & ((1 << bits) - 1) for e in encoded], dtype=np.int64)
    sign = np.array([1.0 - 2.0 * (zlib.crc32(e, 1) >> 31) for e in encoded])
    inverse = inverse.reshape(-1)
    return index[inverse], sign[inverse]


def _flag(ok, reasons, wrong, template, values):
    """Mark the rows where ``wrong`` as bad, with ``template % value`` as the reason."""
    for i in np.flatnonzero(wrong & ok):
        reasons[i] = template % values[i][:40]
    ok &= ~wrong


def _level_index(values, missing, levels):
    """Index (k,) of each value in the kept ``levels`` (None = missing), -1 if not kept."""
    keys = np.array([MISSING_LEVEL if v is None else v for v in levels], dtype=str)
    order = np.argsort(keys)
    values = np.where(missing, MISSING_LEVEL, values)
    if not len(keys):
        return np.full(len(values), -1)
    pos = np.minimum(np.searchsorted(keys[order], values), len(keys) - 1)
    return np.where(keys[order][pos] == values, order[pos], -1)
