"""Real Apache Hadoop: local mode (the streaming jar + LocalJobRunner) and a mini-cluster
(HDFS + YARN in one JVM), both from the jars ``conf/hadoop/provision`` fetches from Maven
Central. Task processes run a Python that has numpy but not mrlearn, so the ``jobs``
package reaches them only through what the driver ships.

Marked ``hadoop``; in CI (``CI`` set) a failure to provision fails the tier, never skips it.
"""
import collections
import getpass
import glob
import importlib.util
import json
import os

import numpy as np
import pytest
import yaml
from sklearn.datasets import make_blobs, make_classification

import driver.passes
import hdfs_utils
from conftest import HADOOP_DIR, fail_or_skip, fit, run_cli, theta_of, write_csv
from driver.train import checkpoint_path

pytestmark = pytest.mark.hadoop
@pytest.fixture(scope="session")
def cluster(hadoop_home, tmp_path_factory):
    spec = importlib.util.spec_from_file_location("minicluster",
                                                  os.path.join(HADOOP_DIR, "minicluster.py"))
    minicluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(minicluster)
    mc = minicluster.MiniCluster(str(tmp_path_factory.mktemp("minicluster")))
    try:
        mc.start(timeout=300)
    except Exception as e:  # the cluster's own error text says why
        mc.stop()
        fail_or_skip("the Hadoop mini-cluster did not start: %s" % e)
    yield mc
    mc.stop()


def _conf(path, task_python, **options):
    options["task_python_bin"] = task_python
    path.write_text(yaml.safe_dump({"runners": {"hadoop": options}}))
    return str(path)


@pytest.fixture
def local_mode(hadoop_home, task_python, tmp_path, monkeypatch):
    """mrjob conf for Hadoop local mode (file:// everywhere)."""
    monkeypatch.setenv("HADOOP_HOME", hadoop_home)
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    return _conf(tmp_path / "mrjob.conf", task_python,
                 hadoop_tmp_dir="file://" + str(tmp_path / "hadoop-tmp"))


@pytest.fixture
def on_cluster(cluster, task_python, tmp_path, monkeypatch):
    """mrjob conf for the mini-cluster; HADOOP_HOME/HADOOP_CONF_DIR point at it. The
    runner's ``hadoop`` is a wrapper logging each call (``hadoop_calls``)."""
    for key, value in cluster.client_env().items():
        monkeypatch.setenv(key, value)
    wrapper = tmp_path / "hadoop"
    wrapper.write_text('#!/bin/sh\necho "$1 $2" >> "%s"\nexec "%s" "$@"\n'
                       % (tmp_path / "hadoop-calls.log", cluster.hadoop_bin))
    wrapper.chmod(0o755)
    return _conf(tmp_path / "mrjob.conf", task_python, hadoop_bin=str(wrapper))


def hadoop_calls(conf):
    """The ``hadoop`` client commands the runner of ``conf`` started (first two words)."""
    log = os.path.join(os.path.dirname(conf), "hadoop-calls.log")
    return open(log).read().splitlines() if os.path.exists(log) else []


@pytest.fixture(scope="module")
def small_logistic(tmp_path_factory):
    X, y = make_classification(n_samples=3000, n_features=6, n_informative=4, random_state=3)
    return write_csv(tmp_path_factory.mktemp("hdata") / "logistic.csv", y, X)


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    X, _ = make_blobs(n_samples=3000, n_features=3, centers=3, cluster_std=0.5, random_state=2)
    path = tmp_path_factory.mktemp("hdata") / "blobs.csv"
    np.savetxt(path, X, delimiter=",", fmt="%.17g")
    return str(path)


def _on_hdfs(local_path, name):
    """Put a local file on the mini-cluster's HDFS once; returns its URI."""
    uri = "hdfs:///user/mrlearn/data/" + name
    if not hdfs_utils.exists(uri):
        hdfs_utils.mkdir("hdfs:///user/mrlearn/data")
        hdfs_utils.put(local_path, uri)
    return uri


def _streaming_jar():
    jars = glob.glob(os.path.join(HADOOP_DIR, "home", "share", "hadoop", "tools", "lib",
                                  "hadoop-streaming-*.jar"))
    return jars[0]


def _train_args(conf, *argv):
    return ["train", "-r", "hadoop", "--conf-path", conf, "-q"] + list(argv)


# --- local mode ------------------------------------------------------------------------------

def test_local_mode_passes_equal_the_inline_runner(local_mode, small_logistic):
    on_hadoop = fit("logistic", small_logistic, runner="hadoop", conf_path=local_mode,
                    l2=1e-2, max_iter=3)
    inline = fit("logistic", small_logistic, l2=1e-2, max_iter=3)
    assert on_hadoop["n_passes"] == 3
    np.testing.assert_allclose(theta_of(on_hadoop), theta_of(inline), rtol=1e-9)


# --- mini-cluster ----------------------------------------------------------------------------

def test_hdfs_utils_on_hdfs(on_cluster, tmp_path):
    base = "hdfs:///user/mrlearn/fs-test"
    hdfs_utils.mkdir(base)
    hdfs_utils.write_text(base + "/a.json", "first")
    hdfs_utils.write_text(base + "/a.json", "second")
    assert hdfs_utils.read_text(base + "/a.json") == "second"
    local = tmp_path / "b.csv"
    local.write_text("1,2\n3,4\n")
    hdfs_utils.put(str(local), base + "/b.csv")
    assert hdfs_utils.size(base + "/b.csv") == 8
    assert [p.rsplit("/", 1)[1] for p in hdfs_utils.ls(base)] == ["a.json", "b.csv"]
    assert hdfs_utils.head_lines(base + "/b.csv", 1) == ["1,2"]
    hdfs_utils.get(base + "/b.csv", str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_text() == "1,2\n3,4\n"
    hdfs_utils.remove(base)
    assert not hdfs_utils.exists(base + "/a.json")


def test_logistic_newton_on_the_cluster_equals_inline(on_cluster, small_logistic):
    """Over WebHDFS a pass starts one client JVM, its job submission; checkpoints, the
    model and the pass results go over HTTP; the run directory is gone at the end."""
    data = _on_hdfs(small_logistic, "logistic.csv")
    model, ckpt = "hdfs:///user/mrlearn/models/logistic.json", "hdfs:///user/mrlearn/ckpt/log"
    assert run_cli(*_train_args(on_cluster, "--algo", "logistic", "--l2", "1e-2", "--input",
                                data, "--model", model, "--checkpoint-dir", ckpt)) == 0
    trained = json.loads(hdfs_utils.read_text(model))
    inline = fit("logistic", small_logistic, l2=1e-2)
    assert trained["converged"] and trained["n_passes"] == inline["n_passes"]
    np.testing.assert_allclose(theta_of(trained), theta_of(inline), rtol=1e-9)
    state = json.loads(hdfs_utils.read_text(checkpoint_path(ckpt)))
    assert len(state["history"]) == trained["n_passes"]
    assert hadoop_calls(on_cluster) == ["jar %s" % _streaming_jar()] * trained["n_passes"]
    assert not [p for p in hdfs_utils.ls("hdfs:///user/%s/tmp/mrjob" % getpass.getuser())
                if "/mrlearn-" in p]


def test_wide_data_with_three_reducers_on_the_cluster_equals_inline(on_cluster, tmp_path,
                                                                    monkeypatch):
    """Model-parallel passes on YARN: 2^12 sparse features, L-BFGS (whose passes do not
    depend on the splits, as GIANT's local systems do), --reducers 3 (each reducer sums a
    third of the gradient) and 2 mappers give the inline runner's one-reducer model. The
    input is parsed once (as larger input would be), so binary lines cross Hadoop both as
    map output (records) and as input (packed sparse rows, jobs.wire)."""
    import driver.passes
    monkeypatch.setattr(driver.passes.ClusterRunner, "packs_text", lambda self, files: True)
    from sklearn.datasets import dump_svmlight_file
    from bench.wide import rcv1_like
    X, y = rcv1_like(4000, 12, nnz=20, seed=5)
    local = str(tmp_path / "wide.svm")
    dump_svmlight_file(X, y, local, zero_based=False)
    data, model = _on_hdfs(local, "wide.svm"), "hdfs:///user/mrlearn/models/wide.json"
    options = ["--algo", "logistic", "--l2", "1e-3", "--n-features", "4096", "--solver",
               "lbfgs"]
    assert run_cli(*_train_args(on_cluster, "--input", data, "--model", model, "--reducers",
                                "3", "--mappers", "2", "--max-iter", "4", *options)) == 0
    from driver.model import load_model
    trained = load_model(model)  # 4097 coefficients: the JSON and its array file on HDFS
    inline = fit("logistic", local, l2=1e-3, n_features=4096, max_iter=4, solver="lbfgs")
    assert trained["n_passes"] == inline["n_passes"] == 4
    np.testing.assert_allclose(theta_of(trained), theta_of(inline), rtol=1e-9, atol=1e-12)


def test_bench_hadoop_one_jvm_a_pass_over_webhdfs_two_through_the_cli(on_cluster, cluster,
                                                                       tmp_path):
    """``python -m bench.hadoop``'s measurements on the tier's cluster, with its targets:
    over WebHDFS a pass starts one ``hadoop`` JVM (the job submission), through the CLI
    (the NameNode's HTTP address answering nothing, as a firewall or Kerberos would) two
    (the job and one ``fs -cat`` of its result); the code is uploaded once per command;
    both runs give the inline runner's model."""
    from bench.hadoop import measure
    results = measure(cluster.hadoop_bin, str(tmp_path), rows=3000, passes=3, repeats=1)
    over_http, cli = results["webhdfs"], results["cli"]
    assert over_http["calls"] == ["jar %s" % _streaming_jar()]
    assert over_http["jvms_to_first_pass"] == 1 and over_http["jvms_per_later_pass"] == [1, 1]
    assert over_http["jvms_after_last_pass"] == 0
    assert cli["jvms_per_later_pass"] == [2, 2]
    inline = fit("logistic", str(tmp_path / "small.csv"), max_iter=3)
    for run in (over_http, cli):
        assert run["passes"] == 3
        np.testing.assert_allclose(run["theta"], theta_of(inline), rtol=1e-9)
    assert results["bare_seconds"][0] > 0 and results["pass_over_bare"] > 0


def test_a_table_on_the_cluster_equals_inline(on_cluster, tmp_path):
    """Quoted commas, every NA spelling, text columns: schema pass and QR pass on HDFS."""
    from test_tables import assert_same_table, nasty_table
    local = tmp_path / "table.csv"
    lines = nasty_table(np.random.default_rng(5), 2000, ",")
    local.write_text(lines[0] + ",amount\n"
                     + "".join(line + ",%d\n" % i for i, line in enumerate(lines[1:])))
    data = _on_hdfs(str(local), "table.csv")
    model = "hdfs:///user/mrlearn/models/table.json"
    assert run_cli(*_train_args(on_cluster, "--algo", "linear", "--label", "amount",
                                "--max-levels", "20", "--input", data, "--model", model)) == 0
    trained = json.loads(hdfs_utils.read_text(model))
    inline = fit("linear", str(local), table={"label": "amount", "max_levels": 20})
    assert_same_table(trained["table"], inline["table"])
    assert trained["n_passes"] == 2
    np.testing.assert_allclose(theta_of(trained), theta_of(inline), rtol=1e-9)


def test_kmeans_on_the_cluster_equals_inline(on_cluster, blobs):
    data = _on_hdfs(blobs, "blobs.csv")
    model = "hdfs:///user/mrlearn/models/kmeans.json"
    assert run_cli(*_train_args(on_cluster, "--algo", "kmeans", "--k", "3", "--n-init", "2",
                                "--input", data, "--model", model)) == 0
    trained = json.loads(hdfs_utils.read_text(model))
    inline = fit("kmeans", blobs, k=3, n_init=2)
    assert trained["n_passes"] == inline["n_passes"]
    np.testing.assert_allclose(trained["cluster_centers"], inline["cluster_centers"], rtol=1e-9)


def test_predict_and_partition_write_to_hdfs_in_order(on_cluster, small_logistic, tmp_path,
                                                      capsys):
    messy = tmp_path / "messy.csv"
    rows = open(small_logistic).read().splitlines()
    messy.write_text("\n".join(rows[:100] + ["1,not-a-number,2,3,4,5,6"] + rows[100:]) + "\n")
    data = _on_hdfs(str(messy), "messy.csv")
    model = str(tmp_path / "m.json")
    assert run_cli("train", "--algo", "logistic", "--input", small_logistic, "--model", model,
                   "-q") == 0
    out = "hdfs:///user/mrlearn/out/predictions"
    common = ["-r", "hadoop", "--conf-path", on_cluster, "--input", data]
    capsys.readouterr()
    assert run_cli("predict", "--model", model, "--output", out, "--skip-bad-rows", *common,
                   "--jobconf", "mapreduce.input.fileinputformat.split.maxsize=100000") == 0
    assert "1 bad row(s) skipped" in capsys.readouterr().out  # from the summary part
    assert [p.rsplit("/", 1)[1] for p in hdfs_utils.ls(out)] == ["_SUCCESS", "part-00000"]
    predicted = hdfs_utils.read_text(out + "/part-00000").splitlines()
    assert len(predicted) == len(rows)
    inline_out = tmp_path / "inline-predictions"
    assert run_cli("predict", "--model", model, "--output", inline_out, "--skip-bad-rows",
                   "--input", messy) == 0
    assert predicted == (inline_out / "part-00000").read_text().splitlines()  # same order
    parts = "hdfs:///user/mrlearn/out/parts"
    assert run_cli("partition", "--output", parts, "--parts", "3", "--by", "hash",
                   "--skip-bad-rows", *common) == 0
    assert "%d rows written to 3 part files" % len(rows) in capsys.readouterr().out
    files = [p for p in hdfs_utils.ls(parts) if "/part-" in p]
    assert [p.rsplit("/", 1)[1] for p in files] == ["part-00000", "part-00001", "part-00002"]
    written = [l for p in files for l in hdfs_utils.read_text(p).splitlines()]
    assert collections.Counter(written) == collections.Counter(rows)


def test_a_failed_first_attempt_is_retried_and_changes_nothing(on_cluster, small_logistic,
                                                               tmp_path):
    data = _on_hdfs(small_logistic, "logistic.csv")
    model = str(tmp_path / "m.json")
    assert run_cli(*_train_args(on_cluster, "--algo", "linear", "--input", data, "--model", model,
                                "--jobconf", "mrlearn.test.fail.attempts=first")) == 0
    np.testing.assert_allclose(theta_of(json.load(open(model))),
                               theta_of(fit("linear", small_logistic)), rtol=1e-9)


def test_a_failed_job_is_one_error_and_keeps_the_checkpoint(on_cluster, small_logistic,
                                                            tmp_path, capsys, monkeypatch):
    """With the input taken for large (parse once): the first pass packs it into the
    checkpoint directory on HDFS; a resumed pass over the packed blocks that fails (in uber
    mode, then once more as a normal job) is one error and changes nothing; resuming again
    reads them and gives the inline model."""
    monkeypatch.setattr(driver.passes.ClusterRunner, "packs_text", lambda self, files: True)
    data = _on_hdfs(small_logistic, "logistic.csv")
    ckpt = "hdfs:///user/mrlearn/ckpt/failing"
    hdfs_utils.remove(ckpt)
    argv = _train_args(on_cluster, "--algo", "logistic", "--l2", "1e-2", "--input", data,
                       "--model", str(tmp_path / "m.json"), "--checkpoint-dir", ckpt)
    assert run_cli(*(argv + ["--max-iter", "1"])) == 0
    packed = {p.rsplit("/", 1)[1] for p in hdfs_utils.ls(ckpt + "/packed")}
    assert packed - {"_SUCCESS"} == {"_mrlearn_packed.json", "part-00000"}
    assert hdfs_utils.head_lines(ckpt + "/packed/part-00000", 1, 1 << 16)[0].startswith("MRLP1,")
    before = hdfs_utils.read_text(checkpoint_path(ckpt))
    model_before = (tmp_path / "m.json").read_text()
    capsys.readouterr()
    assert run_cli(*(argv + ["--resume", "--jobconf", "mrlearn.test.fail.attempts=all",
                             "--jobconf", "mapreduce.map.maxattempts=1"])) == 2
    assert "MRObjectivePass failed on the hadoop runner" in capsys.readouterr().err
    assert hdfs_utils.read_text(checkpoint_path(ckpt)) == before
    assert (tmp_path / "m.json").read_text() == model_before
    assert run_cli(*(argv + ["--resume", "--max-iter", "3"])) == 0
    resumed = json.load(open(tmp_path / "m.json"))
    inline = fit("logistic", small_logistic, l2=1e-2, max_iter=3)
    assert resumed["n_passes"] == inline["n_passes"] and resumed["n_rows"] == 3000
    np.testing.assert_allclose(theta_of(resumed), theta_of(inline), rtol=1e-9)
