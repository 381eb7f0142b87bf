"""The runner layer (driver/passes.py) and the mrjob adapter, without a cluster."""
import importlib

import mrjob
import pytest

import driver.mrjob_adapter as adapter
from driver.errors import MrlearnError
from driver.passes import (RUNNERS, UBER_MAX_BYTES, EmrRunner, HadoopRunner, LocalRunner,
                           Runner)

UBER = "mapreduce.job.ubertask.enable=true"


def test_each_runner_name_builds_its_class():
    classes = {}
    for name in ("inline", "local", "hadoop"):
        with Runner(name) as runner:
            classes[name] = type(runner)
    assert classes == {"inline": Runner, "local": LocalRunner, "hadoop": HadoopRunner}
    assert RUNNERS == ("inline", "local", "hadoop", "emr") and issubclass(EmrRunner, Runner)
    with pytest.raises(MrlearnError, match="unknown runner 'yarn'; choose one of inline"):
        Runner("yarn")
    with pytest.raises(MrlearnError, match="--cluster-id and --keep-cluster are for -r emr"):
        Runner("hadoop", cluster_id="j-1")


def test_a_hadoop_command_that_ran_no_pass_touches_no_cluster(monkeypatch):
    """A refusal before the first pass must not start a JVM (or fail for want of one)."""
    monkeypatch.setenv("PATH", "/nonexistent")
    for variable in ("HADOOP_HOME", "HADOOP_PREFIX", "HADOOP_INSTALL", "HADOOP_CONF_DIR"):
        monkeypatch.delenv(variable, raising=False)
    with Runner("hadoop") as runner:
        assert runner.staging.root.endswith("/%s/" % runner.staging.name)
        assert not runner.staging.used


def test_small_single_reducer_passes_ask_for_uber_mode_and_a_failure_runs_once_without(
        tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("1,2\n")
    with open(big, "wb") as f:
        f.truncate(UBER_MAX_BYTES + 1)
    with Runner("hadoop") as runner:
        assert UBER in runner.mrjob_args([str(small)])
        assert UBER not in runner.mrjob_args([str(big)])
        assert UBER not in runner.mrjob_args([str(small)], reducers=3)
        assert runner.packs_text([str(big)]) and not runner.packs_text([str(small)])
        runner.mrjob_args([str(small)])
        assert runner.retry_differently()  # the failed pass ran in uber mode
        assert UBER not in runner.mrjob_args([str(small)])  # its second run
        assert not runner.retry_differently()  # that one failed as a normal job: final
        assert UBER in runner.mrjob_args([str(small)])  # the next pass
    with Runner("hadoop", mappers=4) as runner:
        assert UBER not in runner.mrjob_args([str(small)])
    with Runner("hadoop", jobconf={"mapreduce.job.ubertask.enable": "false"}) as runner:
        assert runner.mrjob_args([str(small)]).count("mapreduce.job.ubertask.enable=false") == 1


def test_staged_files_are_named_by_their_content(tmp_path):
    uploads = adapter.ContentAddressedUploads("hdfs:///run/files/")
    a, b, c = tmp_path / "a", tmp_path / "sub-b", tmp_path / "_c.sh"
    a.write_text("same")
    b.write_text("same")
    c.write_text("other")
    digest = lambda uri: uri.rsplit("/", 1)[1].split("-", 1)[0]  # noqa: E731
    assert digest(uploads.add(str(a))) == digest(uploads.add(str(b)))
    assert digest(uploads.add(str(a))) != digest(uploads.add(str(c)))
    assert uploads.add(str(c)).startswith("hdfs:///run/files/")
    assert not uploads.add(str(c)).rsplit("/", 1)[1].split("-", 1)[1].startswith("_")
    assert uploads.add("hdfs:///elsewhere/x") == "hdfs:///elsewhere/x"
    assert set(uploads.path_to_uri()) == {str(a), str(b), str(c)}


def test_another_mrjob_release_is_refused_at_import(monkeypatch):
    monkeypatch.setattr(mrjob, "__version__", "0.7.5")
    with pytest.raises(MrlearnError, match="needs mrjob 0.7.4 .* not 0.7.5"):
        importlib.reload(adapter)
    monkeypatch.undo()
    importlib.reload(adapter)
