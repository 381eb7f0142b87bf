"""mrjob's local runner: tasks in separate interpreters, input split over several mappers.

Slower (about a second per pass), so marked ``local_runner``; they run in CI.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from conftest import fit, objective, run_cli, theta_of, write_csv
from jobs_location_job import MRJobsLocation
from driver.inputs import describe_inputs
from driver.passes import Runner, run_pass
from driver.train import checkpoint_path

pytestmark = pytest.mark.local_runner
L2 = 1e-3


def test_tasks_import_jobs_from_the_shipped_zip(cancer):
    spec = describe_inputs([cancer[0]])
    with Runner("local", mappers=2) as runner:
        where = run_pass(MRJobsLocation, spec.params(), spec.files, runner)
    assert where and all(w.endswith("/mrlearn_jobs.zip/jobs/__init__.py") for w in where), where


def test_newton_on_local_runner_is_independent_of_the_number_of_mappers(cancer):
    path, X, y = cancer
    clf = LogisticRegression(C=1 / (L2 * len(y)), tol=1e-10, max_iter=10000).fit(X, y)
    best = objective("logistic", X, y, np.append(clf.coef_[0], clf.intercept_), L2)[0]
    one = fit("logistic", path, runner="local", mappers=1, l2=L2)
    four = fit("logistic", path, runner="local", mappers=4, l2=L2)
    for model in (one, four):
        assert model["n_passes"] <= 10
        assert abs(model["objective"] - best) <= 1e-6 * best
    np.testing.assert_allclose(theta_of(one), theta_of(four), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(theta_of(one), theta_of(fit("logistic", path, l2=L2)), rtol=1e-9)


def test_killed_driver_resumes_to_the_same_model(cancer, tmp_path):
    path = cancer[0]
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "model.json")
    argv = ["train", "--algo", "logistic", "--l2", str(L2), "--input", path, "--model", model,
            "-r", "local", "--checkpoint-dir", ckpt, "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "driver.cli"] + argv, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(checkpoint_path(ckpt)):
                if len(json.load(open(checkpoint_path(ckpt)))["history"]) >= 3:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "training ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not os.path.exists(model)
    assert run_cli(*(argv + ["--resume"])) == 0
    resumed = json.load(open(model))
    straight = fit("logistic", path, runner="local", l2=L2)
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]
    assert resumed["n_passes"] == straight["n_passes"]


def test_predict_on_local_runner_writes_each_input_file_in_order(diabetes, tmp_path):
    path, X, y = diabetes
    model = str(tmp_path / "m.json")
    assert run_cli("train", "--algo", "linear", "--input", path, "--model", model, "-q") == 0
    halves = [write_csv(tmp_path / name, y[rows], X[rows]) for name, rows in
              (("b.csv", slice(0, 200)), ("a.csv", slice(200, None)))]
    out = str(tmp_path / "pred")
    assert run_cli("predict", "--model", model, "--input", *halves, "--output", out,
                   "-r", "local", "--mappers", "3") == 0  # splits across and within files
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
    assert parts == ["part-00000", "part-00001"]  # b.csv, then a.csv, as given
    rows = [line.split(",") for p in parts for line in open(os.path.join(out, p)).read().split()]
    m = json.load(open(model))
    np.testing.assert_allclose([float(r[0]) for r in rows], X @ m["coef"] + m["intercept"],
                               rtol=1e-12)
    np.testing.assert_array_equal([float(r[1]) for r in rows], y)


def test_kmeans_on_local_runner_with_4_mappers_matches_inline(tmp_path):
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler
    path = str(tmp_path / "wine.csv")
    np.savetxt(path, StandardScaler().fit_transform(load_wine().data), delimiter=",", fmt="%.17g")
    inline = fit("kmeans", path, k=3, n_init=2, seed=4, mappers=1)
    local = fit("kmeans", path, runner="local", mappers=4, k=3, n_init=2, seed=4)
    assert local["n_passes"] == inline["n_passes"]
    np.testing.assert_allclose(local["cluster_centers"], inline["cluster_centers"], rtol=1e-12)


@pytest.mark.parametrize("by", ["hash", "range", "random"])
def test_partition_on_local_runner_conserves_rows(by, tmp_path):
    import collections
    from driver.partition import partition
    rng = np.random.default_rng(8)
    path = str(tmp_path / "d.csv")
    np.savetxt(path, np.column_stack([rng.integers(0, 5, 3000), rng.standard_normal((3000, 2))]),
               delimiter=",", fmt="%.17g")
    out = str(tmp_path / "out")
    with Runner("local", mappers=2) as runner:
        partition([path], out, 3, by, runner, key_col=0, seed=2)
    parts = sorted(p for p in os.listdir(out) if p.startswith("part-"))
    assert parts == ["part-00000", "part-00001", "part-00002"]
    written = [l for p in parts for l in open(os.path.join(out, p)).read().splitlines()]
    assert collections.Counter(written) == collections.Counter(open(path).read().splitlines())


@pytest.mark.parametrize("text,message", [
    ("1,abc,2\n", "line 41: field 2 is not a number: 'abc'"),
    ("1,2\n", "line 41: expected 3 comma-separated fields, found 2"),
    ("0,nan,1\n", "line 41: field 2 is nan"),
])
def test_bad_rows_on_local_runner(text, message, tmp_path, capsys):
    good = "".join("%d,%g,%g\n" % (i % 2, i * 0.5, (i % 7) - 3.0) for i in range(40))
    path = tmp_path / "d.csv"
    path.write_text(good + text)
    model = tmp_path / "m.json"
    argv = ["train", "--algo", "logistic", "--l2", "0.1", "--input", str(path), "--model",
            str(model), "-r", "local", "-q"]
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert not model.exists()
    assert run_cli(*(argv + ["--skip-bad-rows", "--max-iter", "2"])) == 0
    assert json.load(open(model))["bad_rows"] == 1


def test_failed_pass_is_one_error_and_keeps_the_checkpoint(cancer, tmp_path, capsys):
    ckpt, model = str(tmp_path / "ckpt"), str(tmp_path / "m.json")
    argv = ["train", "--algo", "logistic", "--input", cancer[0], "--model", model,
            "--checkpoint-dir", ckpt, "-r", "local", "-q"]
    assert run_cli(*(argv + ["--max-iter", "2"])) == 0
    before = open(checkpoint_path(ckpt)).read()
    capsys.readouterr()
    assert run_cli(*(argv + ["--resume", "--jobconf", "mrlearn.test.fail.attempts=all"])) == 2
    err = capsys.readouterr().err
    assert "mrlearn: error: MRObjectivePass failed on the local runner" in err
    assert open(checkpoint_path(ckpt)).read() == before


@pytest.mark.parametrize("algo", ["logistic", "svm"])
def test_multiclass_on_local_runner_is_independent_of_the_number_of_mappers(algo, tmp_path):
    """Issue 14: 1 and 4 local mappers agree to 1e-9 (wine: multinomial, one-vs-rest)."""
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    path = write_csv(tmp_path / "wine.csv", y, StandardScaler().fit_transform(X))
    one, four = (fit(algo, path, runner="local", mappers=m, l2=L2) for m in (1, 4))
    assert one["n_passes"] == four["n_passes"] and one["converged"]
    np.testing.assert_allclose(four["coef"], one["coef"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(four["intercept"], one["intercept"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("options", [
    dict(algo="logistic", class_weight="balanced", l2=L2),
    dict(algo="logistic", solver="sgd", max_iter=3, l2=L2)])
def test_weighted_rows_on_local_runner_are_independent_of_the_number_of_mappers(
        cancer, tmp_path, options):
    """Row weights and class weights: 1 and 4 local mappers agree (sgd: exactly)."""
    _, X, y = cancer
    w = np.random.default_rng(2).integers(0, 4, len(y)) * 0.5
    path = write_csv(tmp_path / "weighted.csv", y, np.column_stack([X, w]))
    one, four = (fit(options["algo"], path, runner="local", mappers=m, weight_col=-1,
                     **{k: v for k, v in options.items() if k != "algo"}) for m in (1, 4))
    assert one["n_passes"] == four["n_passes"] and one["weight_sum"] == w.sum()
    tolerance = 0 if options.get("solver") == "sgd" else 1e-9
    np.testing.assert_allclose(theta_of(four), theta_of(one), rtol=tolerance, atol=tolerance)
