"""The packed row format: many parsed rows per text line, read back without parsing text.

A packed line is ``MRLP1,<rows>,<columns>,<base64 of float64 little-endian values>``:
Hadoop streaming still splits input by line, every runner reads it as text, and a mapper
turns it back into an array with one base64 decode. Rows keep the CSV column layout
(label column included); dense libsvm rows are packed the same way, the label first.

Sparse libsvm rows (parse once of wide input) have a binary line of their own,
``MRLS2,<rows>,<columns>,<entries>,<index bytes>,<escaped bytes>`` (:mod:`jobs.wire`): the
labels (rows float64), the entries of each row (rows int32), then every entry's column
(int32, or int64 when ``index bytes`` is 8) and value (float64), row by row: 12 bytes an
entry and 12 a row, plus 1.2 %, against about 20 an entry of libsvm text. Lines
``MRLS1,...`` (the same bytes in base64, written by earlier versions) are read too.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import base64

import numpy as np

from jobs.parsing import SparseRows, take_rows
from jobs.wire import escape, unescape

PACKED_MARKER = "MRLP1,"
SPARSE_MARKER = "MRLS1,"
BINARY_SPARSE_MARKER = b"MRLS2,"
PACKED_BLOCK_ROWS = 4096


def is_packed(line):
    """Whether ``line`` is a packed block of dense rows (what ``prepare`` writes)."""
    return line.startswith(PACKED_MARKER)


def is_any_packed(line):
    """Whether ``line`` is a packed block, of dense or of sparse rows."""
    return line.startswith(PACKED_MARKER) or line.startswith(SPARSE_MARKER)


def encode_block(values):
    """One packed line (str) for ``values`` (rows, columns) float64."""
    values = np.ascontiguousarray(values, dtype="<f8")
    rows, columns = values.shape
    return "%s%d,%d,%s" % (PACKED_MARKER, rows, columns,
                           base64.b64encode(values.tobytes()).decode("ascii"))


def encode_sparse_block(X, y):
    """One binary packed line (bytes) for the sparse rows ``X``
    (:class:`jobs.parsing.SparseRows`) and their labels ``y`` (rows,)."""
    rows, columns = X.shape
    order = np.argsort(X.row, kind="stable")
    index = "<i4" if columns < 2 ** 31 else "<i8"
    data = b"".join([np.ascontiguousarray(y, dtype="<f8").tobytes(),
                     np.bincount(X.row, minlength=rows).astype("<i4").tobytes(),
                     X.col[order].astype(index).tobytes(), X.val[order].astype("<f8").tobytes()])
    head = "%d,%d,%d,%s," % (rows, columns, len(order), index[-1])
    return BINARY_SPARSE_MARKER + head.encode("ascii") + escape(data)


def decode_sparse_block(line):
    """``(X, y)`` of a packed line of sparse rows (binary bytes, or the text of an
    ``MRLS1`` line); ValueError if it is damaged."""
    try:
        _, rows, columns, entries, width, data = line.split(b"," if isinstance(line, bytes)
                                                            else ",", 5)
        rows, columns, entries, width = int(rows), int(columns), int(entries), int(width)
        raw = unescape(data) if isinstance(data, bytes) else base64.b64decode(data.strip())
        if len(raw) != rows * 12 + entries * (8 + width):
            raise ValueError("%d bytes for %d rows and %d entries" % (len(raw), rows, entries))
        y = np.frombuffer(raw, "<f8", rows).astype(np.float64)
        counts = np.frombuffer(raw, "<i4", rows, 8 * rows)
        col = np.frombuffer(raw, "<i%d" % width, entries, 12 * rows).astype(np.int64)
        val = np.frombuffer(raw, "<f8", entries, 12 * rows + width * entries)
        row = np.repeat(np.arange(rows, dtype=np.int64), counts)
        return SparseRows(row, col, val.astype(np.float64), (rows, columns)), y
    except (ValueError, TypeError) as e:
        raise ValueError("damaged packed block (%s)" % e)


def pack_rows(values, blocks_before, parts, labels=None):
    """(part index, packed line) pairs of ``values`` (rows, columns), or of sparse rows
    ``values`` (:class:`jobs.parsing.SparseRows`) with their ``labels``: blocks of
    :data:`PACKED_BLOCK_ROWS` rows dealt round-robin to ``parts`` parts, counting on from
    the ``blocks_before`` blocks this task already dealt."""
    n = values.shape[0]
    return [((blocks_before + i) % parts, _encode_rows(values, labels, lo, lo + PACKED_BLOCK_ROWS))
            for i, lo in enumerate(range(0, n, PACKED_BLOCK_ROWS))]


def _encode_rows(values, labels, lo, hi):
    if labels is None:
        return encode_block(values[lo:hi])
    keep = np.zeros(values.shape[0], dtype=bool)
    keep[lo:hi] = True
    return encode_sparse_block(take_rows(values, keep), labels[lo:hi])


def decode_block(line):
    """The array (rows, columns) of a packed line; ValueError if it is damaged."""
    try:
        _, rows, columns, data = line.split(",", 3)
        values = np.frombuffer(base64.b64decode(data.strip()), dtype="<f8")
        return values.reshape(int(rows), int(columns)).astype(np.float64)
    except (ValueError, TypeError) as e:
        raise ValueError("damaged packed block (%s)" % e)


def packed_columns(line):
    """Number of columns declared by a packed line's header."""
    return int(line.split(",", 3)[2])
