"""Vectorized parsing of blocks of CSV lines into numeric arrays.

A block of lines is parsed by one call to numpy's C parser; only a block that contains a
malformed row falls back to examining its lines one by one, to name the bad rows.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

BLOCK_LINES = 8192


def _field_is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def looks_like_header(line):
    """True when no comma-separated field of ``line`` is a number (``label,x1,x2``)."""
    return not any(_field_is_number(f) for f in line.split(","))


def count_columns(line):
    """Number of comma-separated fields in ``line``."""
    return line.count(",") + 1


def parse_csv_block(lines, n_columns):
    """Parse CSV ``lines`` (list of str, no line endings) of ``n_columns`` numbers each.

    Returns ``(values, bad)``: ``values`` is a float64 array ``(k, n_columns)`` of the
    well-formed rows in input order, ``bad`` a list of ``(index in lines, reason)`` for
    the malformed ones (wrong field count, a field that is not a number, NaN or
    infinity). Blank lines are neither rows nor errors.
    """
    try:
        values = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        values = None
    if values is not None and values.shape == (len(lines), n_columns):
        finite = np.isfinite(values).all(axis=1)
        if finite.all():
            return values, []
        bad = [(int(i), _nonfinite_reason(values[i])) for i in np.flatnonzero(~finite)]
        return values[finite], bad
    return _parse_lines_one_by_one(lines, n_columns)


def _nonfinite_reason(row):
    col = int(np.flatnonzero(~np.isfinite(row))[0])
    return "field %d is %s; values must be finite" % (col + 1, row[col])


def _parse_lines_one_by_one(lines, n_columns):
    """Slow path for a block that holds a malformed row: find and name each bad row."""
    rows, bad = [], []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != n_columns:
            bad.append((i, "expected %d comma-separated fields, found %d" % (n_columns, len(fields))))
            continue
        try:
            row = [float(f) for f in fields]
        except ValueError:
            if looks_like_header(line):
                bad.append((i, "a header row where none was declared; pass --header auto "
                               "or yes, or remove it"))
                continue
            col = next(k for k, f in enumerate(fields) if not _field_is_number(f))
            bad.append((i, "field %d is not a number: %r" % (col + 1, fields[col][:40])))
            continue
        if not np.all(np.isfinite(row)):
            bad.append((i, _nonfinite_reason(np.array(row))))
            continue
        rows.append(row)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), n_columns)
    return values, bad


def split_label(values, label_col):
    """Split parsed rows (k, n_columns) into features ``X`` (k, n_columns - 1) and ``y`` (k,).

    With ``label_col`` None every column is a feature and ``y`` is None.
    """
    if label_col is None:
        return values, None
    y = values[:, label_col]
    X = np.delete(values, label_col, axis=1)
    return X, y
