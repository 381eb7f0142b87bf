"""Binary lines for Hadoop streaming: exact float64 numbers at about 8.1 bytes each.

Hadoop streaming cuts text input, map output and reduce output into lines at ``\\n`` and
``\\r`` (and a map output line into key and value at its first tab, which only the key must
avoid); it passes every other byte as it is. So a line can carry binary data once three
byte values are escaped (:func:`escape`): ESC (0x1b) becomes ``ESC e``, ``\\n`` ``ESC n``
and ``\\r`` ``ESC r``. Random bytes grow by 3/256 (1.2 %; base64 grows them by a third),
and undoing it is three ``bytes.replace``, no work per number.

Two kinds of line use it:

- **records** (:func:`encode_value` / :func:`decode_value`, the values of
  :class:`WireProtocol`, which carries map output to reducers and a pass's record to the
  driver): ``MRR1,`` then the escaped bytes of the record's JSON header, a NUL byte, and the
  little-endian float64 bytes of its float arrays of :data:`jobs.records.COMPACT_MIN_SIZE`
  numbers or more, in header order; the header holds ``{"__float64__": shape}`` in each
  array's place. A gradient of 2^20 features: 8.5 MB, not 11.2 MB of base64 or 21 MB of
  JSON text.
- **packed sparse rows** (:mod:`jobs.packed`, ``MRLS2,``), input lines of parse once.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import json

import numpy as np

from jobs.records import to_json

ESC = b"\x1b"
RECORD_PREFIX = b"MRR1,"
BINARY_LINE_PREFIXES = (RECORD_PREFIX, b"MRLS2,")
"""How binary lines begin: a line beginning otherwise is text (JSON or CSV)."""
_ARRAY_TAG = "__float64__"


def escape(data):
    """``data`` (bytes) with no ``\\n`` or ``\\r`` left: one line's worth of any bytes."""
    return data.replace(ESC, ESC + b"e").replace(b"\n", ESC + b"n").replace(b"\r", ESC + b"r")


_UNESCAPED = np.zeros(256, dtype=np.uint8)
_UNESCAPED[[ord("e"), ord("n"), ord("r")]] = [ESC[0], ord("\n"), ord("\r")]


def unescape(data):
    """The bytes :func:`escape` was given. Every ESC of an escaped line starts a pair (no
    pair ends in ESC), so it is found by value: each ESC takes the byte its pair stands
    for, and the pairs' second bytes are dropped, all vectorized (3 ns a byte; three
    ``bytes.replace`` of two-byte patterns take 10)."""
    a = np.frombuffer(data, dtype=np.uint8)
    pairs = np.flatnonzero(a == ESC[0])
    if not len(pairs):
        return bytes(data)
    keep = np.ones(len(a), dtype=bool)
    keep[pairs + 1] = False
    out = a[keep]
    out[pairs - np.arange(len(pairs))] = _UNESCAPED[a[pairs + 1]]
    return out.tobytes()


def encode_value(value):
    """The wire bytes of a map or reduce output value: a record (dict) as a binary record
    line, bytes (a binary line already) as they are, anything else as JSON text."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, dict):
        return json.dumps(to_json(value)).encode("utf-8")
    arrays = []

    def stand_in(array):
        arrays.append(array.tobytes())
        return {_ARRAY_TAG: list(array.shape)}

    header = json.dumps(to_json(value, compact=stand_in), separators=(",", ":"))
    return RECORD_PREFIX + escape(b"\0".join([header.encode("utf-8"), b"".join(arrays)]))


def decode_value(data):
    """The value :func:`encode_value` wrote (records with float64 arrays); ValueError if a
    binary record is damaged."""
    if data.startswith(BINARY_LINE_PREFIXES[1:]):
        return data
    if not data.startswith(RECORD_PREFIX):
        return json.loads(data.decode("utf-8"))
    header, _, blob = unescape(data[len(RECORD_PREFIX):]).partition(b"\0")
    offset = [0]

    def array(shape):
        count = int(np.prod(shape, dtype=np.int64))
        start, offset[0] = offset[0], offset[0] + 8 * count
        if offset[0] > len(blob):
            raise ValueError("damaged record: %d bytes of arrays, more needed" % len(blob))
        return np.frombuffer(blob, "<f8", count, start).reshape(shape).astype(np.float64)

    record = _arrays_in(json.loads(header.decode("utf-8")), array)
    if offset[0] != len(blob):
        raise ValueError("damaged record: %d bytes of arrays, %d used" % (len(blob), offset[0]))
    return record


def _arrays_in(value, array):
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            return array(value[_ARRAY_TAG])
        return {k: _arrays_in(v, array) for k, v in value.items()}
    if isinstance(value, list):
        return [_arrays_in(v, array) for v in value]
    return value


class WireProtocol(object):
    """mrjob protocol of summary passes' map and reduce output: the key as JSON, the
    value by :func:`encode_value`. Reads a line with or without its line end (mrjob's
    ``parse_output`` leaves it on; no escaped line ends in one)."""

    def read(self, line):
        key, value = line.rstrip(b"\r\n").split(b"\t", 1)
        return json.loads(key.decode("utf-8")), decode_value(value)

    def write(self, key, value):
        return json.dumps(key).encode("utf-8") + b"\t" + encode_value(value)


class LineProtocol(object):
    """mrjob protocol of bare lines (input, and output written as it is): a binary line
    is read as bytes, any other as text (UTF-8, else Latin-1, as mrjob's default);
    bytes are written as they are, text as UTF-8."""

    def read(self, line):
        if line.startswith(BINARY_LINE_PREFIXES):
            return None, line
        try:
            return None, line.decode("utf_8")
        except UnicodeDecodeError:
            return None, line.decode("latin_1")

    def write(self, key, value):
        return value if isinstance(value, bytes) else value.encode("utf_8")
