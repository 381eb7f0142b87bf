"""Vectorized parsing of blocks of CSV lines into numeric arrays.

A block of lines is parsed by one call to numpy's C parser; only a block that contains a
malformed row falls back to examining its lines one by one, to name the bad rows.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import numpy as np

from jobs.clustering import splitmix64

BLOCK_LINES = 8192
MAX_ABS_VALUE = 1e100
"""Larger magnitudes are bad rows: their squares, summed over rows (Hessians, moments,
distances), would overflow float64 and turn a model into NaN."""


def _usable(values):
    """True where a value is finite and within :data:`MAX_ABS_VALUE` (elementwise)."""
    return np.abs(values) <= MAX_ABS_VALUE


def is_number(field):
    """Whether ``field`` (str) reads as a float (``nan`` and ``inf`` do)."""
    try:
        float(field)
    except ValueError:
        return False
    return True


def looks_like_header(line):
    """True when no comma-separated field of ``line`` is a number (``label,x1,x2``)."""
    return not any(is_number(f) for f in line.split(","))


def count_columns(line):
    """Number of comma-separated fields in ``line``."""
    return line.count(",") + 1


def parse_csv_block(lines, n_columns):
    """Parse CSV ``lines`` (list of str, no line endings) of ``n_columns`` numbers each.

    Returns ``(values, bad)``: ``values`` is a float64 array ``(k, n_columns)`` of the
    well-formed rows in input order, ``bad`` a list of ``(index in lines, reason)`` for
    the malformed ones (wrong field count, a field that is not a number, NaN or
    infinity, or beyond :data:`MAX_ABS_VALUE`). Blank lines are neither rows nor errors.
    """
    try:
        values = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        values = None
    if values is not None and values.shape == (len(lines), n_columns):
        finite = _usable(values).all(axis=1)
        if finite.all():
            return values, []
        bad = [(int(i), _nonfinite_reason(values[i])) for i in np.flatnonzero(~finite)]
        return values[finite], bad
    return _parse_lines_one_by_one(lines, n_columns)


def _nonfinite_reason(row):
    col = int(np.flatnonzero(~_usable(row))[0])
    return ("field %d is %s; values must be finite and at most %g in magnitude (rescale the "
            "column)" % (col + 1, row[col], MAX_ABS_VALUE))


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
            bad.append((i, _text_reason(line, fields)))
            continue
        if not np.all(_usable(row)):
            bad.append((i, _nonfinite_reason(np.array(row))))
            continue
        rows.append(row)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), n_columns)
    return values, bad


def _text_reason(line, fields):
    """Why a line of the right width is not a row of numbers, and what to do about it."""
    if "\x00" in line or "\ufffd" in line:
        return "not UTF-8 text (UTF-16 or binary?): save the file as UTF-8 CSV"
    col = next(k for k, f in enumerate(fields) if not is_number(f))
    field = fields[col].strip()
    if field.startswith('"') or field.startswith("'"):
        return ("field %d is quoted (%r): write numbers without quotes" % (col + 1, field[:40]))
    if looks_like_header(line):
        return ("no field is a number: a header line? (--header auto, the default, skips one "
                "on line 1 of a file; remove any other)")
    return "field %d is not a number: %r" % (col + 1, fields[col][:40])


def split_columns(values, label_col, weight_col=None):
    """Split parsed rows (k, n_columns) into features ``X`` (k, d), labels ``y`` (k,) and row
    weights ``w`` (k,), ``d`` being the columns left.

    With ``label_col`` None ``y`` is None; with ``weight_col`` None ``w`` is None (every row
    weighs 1). Both are 0-based columns of the row.
    """
    taken = [c for c in (label_col, weight_col) if c is not None]
    if not taken:
        return values, None, None
    y = None if label_col is None else values[:, label_col]
    w = None if weight_col is None else values[:, weight_col]
    return np.delete(values, taken, axis=1), y, w


def class_weight_column(y, class_weights):
    """Per-row class weights (k,) of the labels ``y`` (k,): ``class_weights`` maps label keys
    (``repr`` of the float label) to weights; a label not listed weighs 1."""
    labels = np.array([float(k) for k in class_weights], dtype=np.float64)
    values = np.array(list(class_weights.values()), dtype=np.float64)
    order = np.argsort(labels)
    labels, values = labels[order], values[order]
    i = np.minimum(np.searchsorted(labels, y), len(labels) - 1)
    return np.where(labels[i] == y, values[i], 1.0)


def take_rows(X, keep):
    """The rows of ``X`` (ndarray or :class:`SparseRows`, n rows) where ``keep`` (n,) is True."""
    if isinstance(X, np.ndarray):
        return X[keep]
    entry = keep[X.row]
    new_row = np.cumsum(keep) - 1
    return SparseRows(new_row[X.row[entry]], X.col[entry], X.val[entry],
                      (int(np.count_nonzero(keep)), X.shape[1]))



def stack_rows(blocks):
    """One block of the rows of ``blocks`` (a list of ndarrays, or of
    :class:`SparseRows` of one width), in order."""
    if isinstance(blocks[0], np.ndarray):
        return np.vstack(blocks)
    offsets = np.cumsum([0] + [b.shape[0] for b in blocks])
    return SparseRows(np.concatenate([b.row + o for b, o in zip(blocks, offsets)]),
                      np.concatenate([b.col for b in blocks]),
                      np.concatenate([b.val for b in blocks]),
                      (int(offsets[-1]), blocks[0].shape[1]))

DENSE_MAX_FEATURES = 512
"""libsvm blocks with at most this many features become dense arrays; wider ones stay sparse."""


class SparseRows:
    """A block of sparse rows in coordinate form, with the products the kernels need.

    ``row``, ``col`` (int, (nnz,)) and ``val`` (float, (nnz,)); ``shape = (n, d)``.
    ``X @ W`` takes ``W`` (d,) or (d, m); ``X.T @ R`` takes ``R`` (n,) or (n, m). Pure
    numpy (bincount), so task nodes need no scipy.
    """

    def __init__(self, row, col, val, shape):
        self.row, self.col, self.val, self.shape = row, col, val, shape

    def __matmul__(self, W):
        return _scatter_products(self.row, self.col, self.val, W, self.shape[0])

    @property
    def T(self):
        return _Transposed(self)

    def toarray(self):
        """The dense block; entries in one place (hashed features) add up."""
        dense = np.zeros(self.shape)
        np.add.at(dense, (self.row, self.col), self.val)
        return dense


class _Transposed:
    def __init__(self, rows):
        self.rows = rows
        self.shape = rows.shape[::-1]

    def __matmul__(self, R):
        r = self.rows
        return _scatter_products(r.col, r.row, r.val, R, r.shape[1])


def _scatter_products(out_index, in_index, val, W, size):
    """``out[i] = sum over entries of val * W[in_index]`` for vectors or each column."""
    W = np.asarray(W)
    if W.ndim == 1:  # np.take: a 1-d gather 5x faster than W[in_index]
        return np.bincount(out_index, weights=val * np.take(W, in_index), minlength=size)
    return np.column_stack([np.bincount(out_index, weights=val * np.take(W[:, j], in_index),
                                        minlength=size) for j in range(W.shape[1])])


HASHED_MAX_INDEX = 1 << 53
"""The largest libsvm index ``--hash-features`` takes (indices are read as doubles)."""
HASH_FEATURES_MAX_BITS = 24
"""``--hash-features B`` makes 2^B columns, B at most this (a d-vector of 2^24 doubles is
128 MB, and a pass holds a few per candidate)."""
_HASH_SEED = 0x6D726C6561726E  # "mrlearn"


def hash_columns(index, bits):
    """Signed feature hashing (Weinberger et al. 2009, VW's and Spark's ``FeatureHasher``
    scheme) of 1-based libsvm ``index`` (int64 (nnz,), any size up to
    :data:`HASHED_MAX_INDEX`) into ``2^bits`` columns: ``(column (nnz,) in 0 .. 2^bits - 1,
    sign (nnz,) of +-1.0)``, from one splitmix64 of the index: low bits the column, the top
    bit the sign. Entries of a row that land in one column add up."""
    h = splitmix64(index.astype(np.uint64) ^ np.uint64(_HASH_SEED))
    column = (h & np.uint64((1 << bits) - 1)).astype(np.int64)
    sign = 1.0 - 2.0 * (h >> np.uint64(63)).astype(np.float64)
    return column, sign


def parse_libsvm_block(lines, n_features, hash_bits=None):
    """Parse libsvm/svmlight ``lines`` (``label index:value ...``, 1-based indices).

    Returns ``(X, y, bad)``: ``X`` dense (k, n_features) when n_features is at most
    :data:`DENSE_MAX_FEATURES`, else :class:`SparseRows`; ``y`` (k,); ``bad`` a list of
    ``(index in lines, reason)``. Blank lines are skipped; ``#`` starts a comment. With
    ``hash_bits`` B (``n_features`` = 2^B), indices up to :data:`HASHED_MAX_INDEX` are
    hashed into the columns (:func:`hash_columns`).
    """
    rows = [line.split("#", 1)[0].split(None, 1) for line in lines]
    kept = [i for i, parts in enumerate(rows) if parts]
    try:
        y = np.array([rows[i][0] for i in kept], dtype=np.float64)
        features = [rows[i][1] if len(rows[i]) > 1 else "" for i in kept]
        counts = np.array([f.count(":") for f in features], dtype=np.int64)
        pairs = np.array(" ".join(features).replace(":", " ").split(), dtype=np.float64)
        ok = len(pairs) == 2 * counts.sum()
    except ValueError:
        ok = False
    if ok:
        pairs = pairs.reshape(-1, 2)
        index = pairs[:, 0]
        top = HASHED_MAX_INDEX if hash_bits else n_features
        if (np.all(_usable(y)) and np.all(_usable(pairs[:, 1]))
                and np.all(index == np.floor(index)) and np.all((index >= 1) & (index <= top))):
            row = np.repeat(np.arange(len(kept)), counts)
            X, y = _block(row, index.astype(np.int64), pairs[:, 1], y, n_features, hash_bits)
            return X, y, []
    return _parse_libsvm_one_by_one(lines, rows, n_features, hash_bits)


def _block(row, index, val, y, n_features, hash_bits=None):
    """The block of 1-based ``index`` entries, hashed with ``hash_bits``."""
    if hash_bits:
        col, sign = hash_columns(index, hash_bits)
        val = val * sign
    else:
        col = index - 1
    X = SparseRows(row, col, val, (len(y), n_features))
    return (X.toarray() if n_features <= DENSE_MAX_FEATURES else X), y


def _parse_libsvm_one_by_one(lines, rows, n_features, hash_bits=None):
    """Slow path for a libsvm block with a malformed line: name each bad line."""
    ys, rs, cs, vs, bad = [], [], [], [], []
    for i, parts in enumerate(rows):
        if not parts:
            continue
        try:
            label = float(parts[0])
            entries = [item.split(":") for item in (parts[1].split() if len(parts) > 1 else [])]
            index = [int(k) for k, _ in entries]
            value = [float(v) for _, v in entries]
        except ValueError:
            bad.append((i, "not a libsvm row (label index:value ...): %r" % lines[i][:40]))
            continue
        top = HASHED_MAX_INDEX if hash_bits else n_features
        if not all(1 <= k <= top for k in index):
            bad.append((i, "feature index outside 1..%d (%s)" % (
                top, "--hash-features" if hash_bits else "--n-features")))
            continue
        if not np.all(_usable([label] + value)):
            bad.append((i, "a value is NaN, infinite or beyond %g in magnitude; rescale it"
                           % MAX_ABS_VALUE))
            continue
        rs.extend([len(ys)] * len(index))
        cs.extend(index)
        vs.extend(value)
        ys.append(label)
    X, y = _block(np.array(rs, dtype=np.int64), np.array(cs, dtype=np.int64),
                  np.array(vs, dtype=np.float64), np.array(ys, dtype=np.float64), n_features,
                  hash_bits)
    return X, y, bad
