"""Checkpoints: atomic URI writes (S3 on moto, HDFS on a fake ``hadoop``), what --resume
checks (shape, solver sizes, the input's fingerprint) and what is never overwritten."""
import json
import os
import subprocess

import boto3
import numpy as np
import pytest
from moto import mock_aws

import hdfs_utils
from conftest import run_cli, write_csv
from driver.errors import MrlearnError
from driver.passes import Runner
from driver.train import TrainConfig, checkpoint_path, train

L2 = 1e-3
BUCKET = "mrlearn-test"


# --- S3: one PUT replaces the object -----------------------------------------------------------

def test_s3_overwrite_is_one_put_without_delete_or_listing():
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        path = "s3://%s/ckpt/checkpoint.json" % BUCKET
        hdfs_utils.write_text(path, "old")
        calls = []
        boto3.DEFAULT_SESSION.events.register(
            "before-call.s3", lambda model, **_: calls.append(model.name))
        hdfs_utils.write_text(path, "new")
        writes = [c for c in calls if not c.startswith(("Get", "Head"))]
        assert hdfs_utils.read_text(path) == "new"
    assert writes == ["PutObject"], calls


def test_s3_fingerprint_has_size_and_etag():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="d/a.csv", Body=b"1,2\n")
        paths = ["s3://%s/d/a.csv" % BUCKET]
        before = hdfs_utils.fingerprint(paths)
        s3.put_object(Bucket=BUCKET, Key="d/a.csv", Body=b"1,3\n")
        after = hdfs_utils.fingerprint(paths)
    assert before[0][:2] == [paths[0], 4] and after[0][:2] == [paths[0], 4]
    assert before != after


# --- HDFS: a fake hadoop that can be killed between any two namenode calls --------------------

class Killed(BaseException):
    """The driver process dies here (SIGKILL: no cleanup runs)."""


class FakeHadoop:
    """An in-memory HDFS behind mrjob's ``HadoopFilesystem`` interface.

    ``invoke_hadoop`` runs ``fs -put [-f]`` as Hadoop's CommandWithDestination does: create
    and fill ``<dst>._COPYING_``, delete ``<dst>``, rename; ``fs -mkdir -p``; ``fs -stat``.
    Every namenode mutation counts as a step; the one numbered ``kill_at`` raises Killed
    before it happens. ``calls`` records the hadoop invocations (one JVM each).
    """

    def __init__(self):
        self.files, self.dirs, self.calls = {}, set(), []
        self.steps, self.kill_at = 0, None

    def _step(self):
        self.steps += 1
        if self.steps == self.kill_at:
            raise Killed

    def invoke_hadoop(self, args, ok_returncodes=None, ok_stderr=None, return_stdout=False):
        self.calls.append(args)
        if args[:2] == ["fs", "-put"]:
            src, dst = args[-2:]
            if dst.rsplit("/", 1)[0] not in self.dirs or (dst in self.files and "-f" not in args):
                raise subprocess.CalledProcessError(1, args)
            self._upload(open(src, "rb").read(), dst)
        elif args[:3] == ["fs", "-mkdir", "-p"]:
            self.mkdir(args[3])
        elif args[:2] == ["fs", "-stat"]:
            return "".join("%d 1000 %s\n" % (len(self.files[p]), p.rsplit("/", 1)[1])
                           for p in args[3:]).encode()
        return b"" if return_stdout else 0

    def _upload(self, data, dst):
        self._step()
        self.files[dst + "._COPYING_"] = data[:len(data) // 2]
        self._step()
        self.files[dst + "._COPYING_"] = data
        if dst in self.files:
            self._step()
            del self.files[dst]
        self._step()
        self.files[dst] = self.files.pop(dst + "._COPYING_")

    # what mrjob's HadoopFilesystem offers (and main's delete-then-put used)
    def mkdir(self, path):
        while path.count("/") > 2:
            self.dirs.add(path)
            path = path.rsplit("/", 1)[0]

    def exists(self, path):
        return any(p == path or p.startswith(path.rstrip("/") + "/") for p in self.files)

    def ls(self, path):
        return [p for p in self.files if p == path or p.startswith(path.rstrip("/") + "/")]

    def cat(self, path):
        yield self.files[path]

    def rm(self, path):
        self._step()
        self.files.pop(path)

    def put(self, src, path):
        self._upload(open(src, "rb").read(), path)


@pytest.fixture
def hdfs(monkeypatch):
    fake = FakeHadoop()
    real = hdfs_utils.filesystem
    monkeypatch.setattr(hdfs_utils, "filesystem",
                        lambda p: fake if p.startswith("hdfs://") else real(p))
    return fake


def test_hdfs_write_is_one_hadoop_call_and_three_without_the_directory(hdfs, tmp_path):
    path = "hdfs://nn/ckpt/checkpoint.json"
    hdfs_utils.write_text(path, "first")
    assert [c[:3] for c in hdfs.calls] == [["fs", "-put", "-f"], ["fs", "-mkdir", "-p"],
                                           ["fs", "-put", "-f"]]
    del hdfs.calls[:]
    hdfs_utils.write_text(path, "second")
    assert [c[:3] for c in hdfs.calls] == [["fs", "-put", "-f"]]
    assert hdfs.files == {path: b"second"}


@pytest.mark.parametrize("kill_at", [1, 2, 3, 4])
def test_a_kill_at_any_step_of_an_hdfs_checkpoint_write_resumes_to_the_same_model(
        kill_at, hdfs, cancer):
    """Killed in the middle of writing the checkpoint of pass 3, the run resumes from pass 2
    or 3, never from scratch, and ends with the uninterrupted run's model."""
    config = TrainConfig("logistic", [cancer[0]], solver="lbfgs", l2=L2, max_iter=30)
    ckpt = "hdfs://nn/ckpt"

    def kill_in_pass_3_write(entry):
        if entry["pass"] == 2:
            hdfs.kill_at = hdfs.steps + kill_at

    with Runner("inline") as runner:
        with pytest.raises(Killed):
            train(config, runner, ckpt, report=kill_in_pass_3_write)
        hdfs.kill_at = None
        saved = [name for name in hdfs.files if name.startswith(checkpoint_path(ckpt))]
        passes = []
        resumed = train(config, runner, ckpt, resume=True, report=passes.append)
        straight = train(config, runner)
    assert passes[0]["pass"] in (3, 4), saved
    assert resumed["coef"] == straight["coef"] and resumed["history"][-1] == dict(
        straight["history"][-1], seconds=resumed["history"][-1]["seconds"])


def test_hdfs_fingerprint_is_one_stat_call(hdfs):
    paths = ["hdfs://nn/d/a.csv", "hdfs://nn/d/b c.csv"]
    hdfs.files.update({paths[0]: b"12", paths[1]: b"345"})
    assert hdfs_utils.fingerprint(paths) == [[paths[0], 2, 1000], [paths[1], 3, 1000]]
    assert hdfs.calls == [["fs", "-stat", "%b %Y %n"] + paths]


# --- what --resume and a new run refuse --------------------------------------------------------

@pytest.fixture(scope="module")
def saved_checkpoint(cancer, tmp_path_factory):
    """(argv of a 2-pass logistic run with a checkpoint, the checkpoint's JSON)."""
    ckpt = str(tmp_path_factory.mktemp("saved") / "ckpt")
    argv = ["train", "--algo", "logistic", "--l2", L2, "--input", cancer[0], "--max-iter", 2,
            "-q", "--model", str(tmp_path_factory.mktemp("m") / "m.json")]
    assert run_cli(*(argv + ["--checkpoint-dir", ckpt])) == 0
    with open(checkpoint_path(ckpt)) as f:
        return argv, json.load(f)


def refused(capsys, argv, *named):
    """Run the CLI; assert exit 2 and a one-line message naming each of ``named``."""
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for name in named:
        assert name in err, err
    return err


def test_a_new_run_never_replaces_a_checkpoint(saved_checkpoint, tmp_path, capsys):
    argv, state = saved_checkpoint
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "checkpoint.json").write_text(json.dumps(state))
    err = refused(capsys, argv + ["--checkpoint-dir", ckpt], str(ckpt), "--resume")
    assert "new --checkpoint-dir" in err
    assert json.loads((ckpt / "checkpoint.json").read_text()) == state


@pytest.mark.parametrize("leftover", [".checkpoint.json.k2j4x9", "notes.txt"])
def test_resume_refuses_a_directory_without_a_checkpoint(saved_checkpoint, leftover, tmp_path,
                                                         capsys):
    argv, _ = saved_checkpoint
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / leftover).write_text('{"format": "mrlearn-checkp')
    refused(capsys, argv + ["--checkpoint-dir", ckpt, "--resume"], str(ckpt), leftover,
            "checkpoint.json")
    assert os.listdir(ckpt) == [leftover]


def _damaged(state, edit):
    state = json.loads(json.dumps(state))
    edit(state)
    return state


DAMAGES = {
    "lacks 'history'": lambda s: s.pop("history"),
    "has a str for 'history'": lambda s: s.update(history="none"),
    "checkpoint format version 99": lambda s: s.update(format_version=99),
    "not an mrlearn checkpoint": lambda s: s.update(format="other-tool"),
    "has a str for 'bad_rows'": lambda s: s.update(bad_rows="0"),
    "needs newton of 31": lambda s: s["solver"].update(n_params=32),
    "solver 'x0' of shape (32,)": lambda s: s["solver"]["x0"].append(0.0),
    "solver 'g' of shape (30,)": lambda s: s["solver"]["g"].pop(),
    "non-numbers in solver 'x0'": lambda s: s["solver"]["x0"].__setitem__(0, "a"),
    "lacks solver H": lambda s: s["solver"].pop("H"),
    "has a str for solver 'done'": lambda s: s["solver"].update(done="no"),
    "has a list for 'solver'": lambda s: s.update(solver=[]),
    "history that is not a list of passes": lambda s: s["history"].append(3),
    "has a str for 'scale'": lambda s: s.update(scale="none"),
    "holds a feature scale, but this run is not --standardize":
        lambda s: s.update(scale={"std": [1.0] * 30}),
}


@pytest.mark.parametrize("what", DAMAGES)
def test_resume_refuses_a_checkpoint_of_the_wrong_shape(saved_checkpoint, what, tmp_path,
                                                        capsys):
    argv, state = saved_checkpoint
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    damaged = json.dumps(_damaged(state, DAMAGES[what]))
    (ckpt / "checkpoint.json").write_text(damaged)
    refused(capsys, argv + ["--checkpoint-dir", ckpt, "--resume"],
            str(ckpt / "checkpoint.json"), what)
    assert (ckpt / "checkpoint.json").read_text() == damaged


def test_a_version_3_checkpoint_resumes(saved_checkpoint, tmp_path):
    """Checkpoints of the version before the run's scale was kept resume as they are."""
    argv, state = saved_checkpoint
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    old = dict(state, format_version=3)
    assert old.pop("scale") is None
    (ckpt / "checkpoint.json").write_text(json.dumps(old))
    longer = argv + ["--max-iter", 4, "--model"]
    assert run_cli(*(longer + [tmp_path / "resumed.json", "--checkpoint-dir", ckpt,
                               "--resume"])) == 0
    assert run_cli(*(longer + [tmp_path / "straight.json"])) == 0
    resumed, straight = (json.loads((tmp_path / name).read_text())
                         for name in ("resumed.json", "straight.json"))
    assert resumed["n_passes"] == 4 and resumed["coef"] == straight["coef"]
    assert json.loads((ckpt / "checkpoint.json").read_text())["format_version"] == 4


def test_resume_refuses_an_input_changed_in_place(cancer, tmp_path):
    _, X, y = cancer
    data = write_csv(tmp_path / "data.csv", y, X)
    original, stat = open(data).read(), os.stat(data)
    config = TrainConfig("logistic", [data], l2=L2, max_iter=30)
    ckpt = str(tmp_path / "ckpt")
    with Runner("inline") as runner:
        train(TrainConfig("logistic", [data], l2=L2, max_iter=2), runner, ckpt)
        write_csv(data, y, X[:, ::-1])  # same rows, other values
        os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10 ** 9))
        with pytest.raises(MrlearnError, match="for other input: %s changed" % data):
            train(config, runner, ckpt, resume=True)
        with open(data, "w") as f:
            f.write(original)
        os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        resumed, straight = train(config, runner, ckpt, resume=True), train(config, runner)
    assert resumed["history"][2]["pass"] == 3 and len(resumed["history"]) > 3
    assert resumed["coef"] == straight["coef"] and resumed["intercept"] == straight["intercept"]
