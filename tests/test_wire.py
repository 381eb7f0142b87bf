"""Binary lines (jobs.wire): escaping, records between tasks, packed sparse rows."""
import numpy as np
import pytest

from jobs.packed import decode_sparse_block, encode_sparse_block
from jobs.parsing import SparseRows
from jobs.records import COMPACT_MIN_SIZE, base64_array, merge_records, to_json
from jobs.wire import LineProtocol, WireProtocol, decode_value, encode_value, escape, unescape

SPECIAL = [b"\x1b", b"\n", b"\r", b"e", b"n", b"r", b"\t", b"\0"]


@pytest.mark.parametrize("seed", range(20))
def test_escape_round_trips_any_bytes_and_leaves_no_line_break(seed):
    """Random strings over the bytes that matter (ESC, line ends, the pair letters, tab,
    NUL) and random bytes of any value: unescape(escape(b)) == b, no \\n or \\r left."""
    rng = np.random.default_rng(seed)
    pieces = [SPECIAL[i] for i in rng.integers(0, len(SPECIAL), 300)]
    for data in (b"".join(pieces), rng.integers(0, 256, 5000).astype(np.uint8).tobytes()):
        escaped = escape(data)
        assert b"\n" not in escaped and b"\r" not in escaped
        assert unescape(escaped) == data


def test_escape_is_one_pass_left_to_right():
    """Hand cases where replacing pair kinds one after another could go wrong."""
    for data, expected in [(b"\x1bn", b"\x1ben"), (b"\x1b\n", b"\x1be\x1bn"),
                           (b"\n\x1b", b"\x1bn\x1be"), (b"\x1b\x1be", b"\x1be\x1bee"),
                           (b"\r\n", b"\x1br\x1bn")]:
        assert escape(data) == expected and unescape(expected) == data


def _record(rng):
    big = rng.standard_normal((3, COMPACT_MIN_SIZE))
    big[0, :6] = [-0.0, 5e-324, 1.7976931348623157e308, -2.2250738585072014e-308,
                  np.inf, np.nan]
    return {"n": 7, "grad": big, "loss": np.array([1.5, 2.5]), "labels": [0.0, 1.0],
            "split": ["hdfs:///a b\tc.csv", 0], "first_bad": None,
            "fold_rfactors": [(3, np.zeros(2), big[1:])], "gap": float("nan")}


def test_a_record_crosses_the_wire_bit_for_bit_at_8_bytes_a_number():
    """Every bit back (signed zero, subnormals, extremes, inf, NaN), through the protocol
    mappers and reducers use; 8 bytes a number plus under 3 %, where base64 in JSON is
    10.7; small arrays and other fields as JSON; a merge over the wire equals the merge in
    memory."""
    record = _record(np.random.default_rng(0))
    protocol = WireProtocol()
    line = protocol.write(["split", 3], record)
    assert b"\n" not in line and b"\r" not in line
    key, back = protocol.read(line)
    assert key == ["split", 3]
    assert back["grad"].tobytes() == record["grad"].tobytes() and back["grad"].dtype == np.float64
    assert back["fold_rfactors"][0][2].tobytes() == record["grad"][1:].tobytes()
    assert back["loss"] == [1.5, 2.5] and back["n"] == 7 and back["split"] == record["split"]
    assert np.isnan(back["gap"]) and back["first_bad"] is None
    numbers = 2 * record["grad"].size - COMPACT_MIN_SIZE
    assert len(line) < 8 * numbers * 1.03 + 500
    import json
    assert len(line) < 0.8 * len(json.dumps(to_json(record, compact=base64_array)))
    other = {"n": 1, "grad": -record["grad"], "loss": np.array([1.0, 1.0])}
    merged = merge_records(back, protocol.read(protocol.write("k", other))[1])
    assert np.array_equal(merged["grad"], merge_records(record, other)["grad"], equal_nan=True)


def test_values_other_than_records_keep_their_json_and_binary_lines_pass_as_they_are():
    for value in ["MRLP1,2,3,AAAA", 3, [1, "a"], None, "x\ny"]:
        assert decode_value(encode_value(value)) == value
    line = encode_sparse_block(SparseRows(np.array([0]), np.array([5]), np.array([0.5]),
                                          (1, 9)), np.array([1.0]))
    assert decode_value(encode_value(line)) == line


@pytest.mark.parametrize("cut", [1, 9, 100])
def test_a_damaged_record_is_refused(cut):
    line = encode_value(_record(np.random.default_rng(1)))
    with pytest.raises(ValueError, match="damaged record"):
        decode_value(line[:-cut])


def test_line_protocol_reads_binary_lines_as_bytes_and_text_as_text():
    protocol = LineProtocol()
    binary = b"MRLS2,1,2,0,4," + escape(b"\xff\xfe\n")
    assert protocol.read(binary) == (None, binary)
    assert protocol.read("1,2,é".encode("utf-8")) == (None, "1,2,é")
    assert protocol.read(b"1,\xe9") == (None, "1,\xe9")  # not UTF-8: Latin-1
    assert protocol.write(None, binary) == binary and protocol.write(None, "é") == "é".encode()


def test_packed_sparse_rows_are_binary_and_read_back_exactly():
    """12 bytes an entry and a row plus the escapes (not 16 of base64); the old base64
    line (MRLS1) of the same rows reads the same."""
    import base64
    rng = np.random.default_rng(2)
    n, d, nnz = 300, 2 ** 20, 40
    row = np.repeat(np.arange(n), nnz)
    col, val = rng.integers(0, d, n * nnz), rng.random(n * nnz)
    y = rng.integers(0, 2, n).astype(float)
    line = encode_sparse_block(SparseRows(row, col, val, (n, d)), y)
    assert b"\n" not in line and b"\r" not in line
    assert len(line) < 1.02 * 12 * (n + n * nnz) + 40
    X, y_back = decode_sparse_block(line)
    assert np.array_equal(X.col, col) and np.array_equal(X.val, val)
    assert np.array_equal(X.row, row) and np.array_equal(y_back, y) and X.shape == (n, d)
    head, data = line.split(b",", 5)[:5], line.split(b",", 5)[5]
    old = ",".join([b"MRLS1"[:5].decode()] + [h.decode() for h in head[1:]]
                   + [base64.b64encode(unescape(data)).decode()])
    X_old, y_old = decode_sparse_block(old)
    assert np.array_equal(X_old.col, col) and np.array_equal(X_old.val, val)
    with pytest.raises(ValueError, match="damaged packed block"):
        decode_sparse_block(line[:-5])
