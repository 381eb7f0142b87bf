"""Smoke run of the benchmark suite (``python -m bench.suite``) so that it keeps working.

100k rows, Newton only, no Spark, no 4M: the same command a user runs, on less. It uses
the local runner (seconds per pass), so it is marked ``local_runner``.
"""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from bench import end_to_end
from bench.report import PLOTS, TARGETS

pytestmark = pytest.mark.local_runner

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = 100_000
CONTENDERS = ("mrlearn, CSV", "mrlearn, packed", "scikit-learn")


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    """Run the suite once; ``(output directory, results.json as a dict)``."""
    out = tmp_path_factory.mktemp("bench-results")
    subprocess.run([sys.executable, "-m", "bench.suite", "--sizes", str(ROWS),
                    "--scaling", "20000,%d" % ROWS, "--no-spark", "--solvers", "newton",
                    "--repeats", "2", "--out", str(out)], cwd=REPO_ROOT, check=True)
    with open(out / "results.json") as f:
        return out, json.load(f)


def test_the_json_holds_every_figure(suite_run):
    _, results = suite_run
    assert results["spark"] == end_to_end.SPARK_NOT_ASKED
    assert {r["contender"] for r in results["end_to_end"]} == set(CONTENDERS)
    for record in results["end_to_end"]:
        assert record["rows"] == ROWS and record["seconds"] > 0
    measured = {(r["rows"], r["input"], r["mappers"]) for r in results["pass_cost"]}
    assert measured == {(ROWS, "packed", 2), (ROWS, "single process", 1), (20000, "csv", 1),
                        (20000, "csv", 2), (ROWS, "csv", 1), (ROWS, "csv", 2)}
    assert all(r["seconds"] > 0 for r in results["pass_cost"])
    assert [run["runner"] for run in results["fixed_cost"]["runs"]] == ["inline", "local"]
    for run in results["fixed_cost"]["runs"]:
        assert sum(run["phases"].values()) == pytest.approx(run["seconds"])
    assert [t["target"] for t in results["targets"]] == [target for target, _ in TARGETS]


def test_newton_reaches_scikit_learns_optimum_within_ten_passes(suite_run):
    _, results = suite_run
    (newton,) = results["convergence"]
    assert newton["solver"] == "newton" and newton["rows"] == ROWS
    assert newton["final_gap"] <= 1e-6 and newton["passes"] <= 10
    assert len(newton["gaps"]) == newton["passes"]
    for record in results["end_to_end"]:
        assert abs(record["gap"]) <= 1e-6, record


def test_kmeans_matches_scikit_learns_inertia(suite_run):
    _, results = suite_run
    (kmeans,) = results["kmeans"]
    assert kmeans["inertia_ratio"] <= 1.001 and kmeans["passes"] <= 14


def test_the_plots_are_png_images(suite_run):
    out, _ = suite_run
    for name, _ in PLOTS:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and min(image.size) >= 300
            image.verify()


def test_the_markdown_has_every_table_row(suite_run):
    out, results = suite_run
    text = (out / "results.md").read_text()
    for target in results["targets"]:
        assert "| %s | %s |" % (target["target"], target["measured"]) in text
    for contender in CONTENDERS:
        assert "| 100k | %s |" % contender in text
    (newton,) = results["convergence"]
    assert "| 100k | newton | %d |" % newton["passes_to_target"] in text
    for name, _ in PLOTS:
        assert "(%s)" % name in text


def test_without_pyspark_the_bench_says_spark_was_skipped(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "pyspark" else real_find_spec(name))
    assert end_to_end.spark_availability(True) == "Spark: not installed, skipped"
