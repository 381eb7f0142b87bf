"""The packed row format: many parsed rows per text line, read back without parsing text.

A packed line is ``MRLP1,<rows>,<columns>,<base64 of float64 little-endian values>``:
Hadoop streaming still splits input by line, every runner reads it as text, and a mapper
turns it back into an array with one base64 decode. Rows keep the CSV column layout
(label column included).

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import base64

import numpy as np

PACKED_MARKER = "MRLP1,"
PACKED_BLOCK_ROWS = 4096


def is_packed(line):
    return line.startswith(PACKED_MARKER)


def encode_block(values):
    """One packed line (str) for ``values`` (rows, columns) float64."""
    values = np.ascontiguousarray(values, dtype="<f8")
    rows, columns = values.shape
    return "%s%d,%d,%s" % (PACKED_MARKER, rows, columns,
                           base64.b64encode(values.tobytes()).decode("ascii"))


def pack_rows(values, blocks_before, parts):
    """(part index, packed line) pairs of ``values`` (rows, columns): blocks of
    :data:`PACKED_BLOCK_ROWS` rows dealt round-robin to ``parts`` parts, counting on from
    the ``blocks_before`` blocks this task already dealt."""
    return [((blocks_before + i) % parts, encode_block(values[lo:lo + PACKED_BLOCK_ROWS]))
            for i, lo in enumerate(range(0, len(values), PACKED_BLOCK_ROWS))]


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
