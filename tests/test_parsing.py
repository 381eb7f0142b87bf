"""Block parsing: fast path, and the slow path that names each bad row."""
import ast
import os
import sys

import numpy as np

import jobs
from jobs.parsing import looks_like_header, parse_csv_block, split_columns


def test_block_parses_to_float64_rows():
    values, bad = parse_csv_block(["1,2.5,-3e2", " 0 , 1e-3,4"], 3)
    np.testing.assert_array_equal(values, [[1, 2.5, -300], [0, 0.001, 4]])
    assert bad == []


def test_bad_rows_are_named_and_good_rows_kept_in_order():
    lines = ["1,2,3", "1,2", "4,x,6", "7,nan,9", "", "10,11,12", "1,2,3,4"]
    values, bad = parse_csv_block(lines, 3)
    np.testing.assert_array_equal(values, [[1, 2, 3], [10, 11, 12]])
    assert [i for i, _ in bad] == [1, 2, 3, 6]
    assert "expected 3 comma-separated fields, found 2" in bad[0][1]
    assert "field 2 is not a number: 'x'" in bad[1][1]
    assert "field 2 is nan" in bad[2][1]
    assert "found 4" in bad[3][1]


def test_nonfinite_values_are_bad_rows_on_the_fast_path_too():
    values, bad = parse_csv_block(["1,inf", "2,3"], 2)
    np.testing.assert_array_equal(values, [[2, 3]])
    assert bad[0][0] == 0 and "field 2 is inf" in bad[0][1]


def test_header_detection():
    assert looks_like_header("label,x1,x2")
    assert not looks_like_header("1,2,3")
    assert not looks_like_header("y,1,2")  # partly numeric: a bad row, not a header


def test_split_label_takes_any_column():
    X, y, w = split_columns(np.array([[1.0, 2.0, 3.0]]), 1)
    np.testing.assert_array_equal(X, [[1.0, 3.0]])
    np.testing.assert_array_equal(y, [2.0])


def test_jobs_package_is_python39_syntax_and_independent_of_driver():
    package = os.path.dirname(jobs.__file__)
    for name in os.listdir(package):
        if name.endswith(".py"):
            with open(os.path.join(package, name)) as f:
                tree = ast.parse(f.read(), name, feature_version=(3, 9))
            imported = {a.name.split(".")[0] for node in ast.walk(tree)
                        if isinstance(node, ast.Import) for a in node.names}
            imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom) and node.module}
            allowed = set(sys.stdlib_module_names) | {"numpy", "mrjob", "jobs"}
            assert imported <= allowed, (name, imported - allowed)
