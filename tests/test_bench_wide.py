"""Smoke run of ``python -m bench.wide`` on small data, so that it keeps working and its
figures stay consistent: GIANT ahead of L-BFGS, the models of 1 / 8 reducers and 1 / 4
mappers equal, VW's held-out log-loss measured next to the optimum's."""
import json

import pytest

from bench import wide

pytestmark = pytest.mark.local_runner


def test_bench_wide_measures_passes_wire_bytes_memory_and_vw(tmp_path):
    wide.main(["--rows", "3000", "--bits", "11", "--few-rows", "0", "--scale-rows", "4000",
               "--scale-bits", "13", "--max-passes", "25", "--l2", "1e-3",
               "--out", str(tmp_path)])
    results = json.load(open(tmp_path / "wide.json"))
    main_case = results["passes"][0]
    giant, lbfgs = main_case["runs"]
    assert giant["method"] == "giant" and lbfgs["method"] == "lbfgs"
    assert giant["to_gap"]["1e-06"][0] <= 12
    assert lbfgs["to_gap"]["1e-06"] is None or (
        giant["to_gap"]["1e-06"][0] < lbfgs["to_gap"]["1e-06"][0])
    assert main_case["scipy_evaluations"]["1e-06"] > giant["to_gap"]["1e-06"][0]
    held = {run["name"]: run["held_out_log_loss"] for run in results["held_out"]}
    vw = held["Vowpal Wabbit, 10 passes"]
    ours = next(v for k, v in held.items() if k.startswith("mrlearn"))
    assert 0.3 < ours < 0.7 and 0.3 < vw < 0.8
    scale = results["scale"]
    assert max(scale["max_difference"].values()) < 1e-9
    assert scale["scipy_gradient_seconds"] > 0 and len(scale["pass_seconds"]) == 3
    one, eight = scale["wire"]
    assert (one["reducers"], eight["reducers"]) == (1, 8)
    assert 8 * 2 ** 13 < one["split_record_bytes"] < 12 * 2 ** 13 + 4096
    assert one["reducer_peak_mb"] > 0 and one["mapper_peak_mb"] > 0
