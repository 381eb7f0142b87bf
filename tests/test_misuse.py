"""The misuse corpus: what a new user gets wrong, and what mrlearn must do about it.

Every case runs the CLI as a user would and must end with exit 2, a first line
``mrlearn...: error: ...`` naming the culprit, no traceback, and the user's files exactly
as they were (nothing changed, nothing left behind). A subset runs on ``-r local``; Ctrl-C
is sent as a real SIGINT to a real ``mrlearn`` process.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import write_csv
from driver.cli import main
from driver.train import CHECKPOINT_VERSION


def _snapshot(root):
    """{relative path: sha256} of every file, and every directory, under ``root``."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(directory, name), root) + "/"] = "dir"
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def _model(**changes):
    model = {"format": "mrlearn-model", "format_version": 1, "algo": "logistic",
             "solver": "newton", "loss": "logistic", "coef": [0.5, -0.25, 1.0],
             "intercept": 0.1, "classes": [0, 1], "n_features": 3, "n_rows": 60,
             "params": {"l2": 0.0}, "n_passes": 1}
    model.update(changes)
    return {k: v for k, v in model.items() if v is not DROP}


DROP = object()

DAMAGED_MODELS = {
    "short.json": _model(coef=[0.5, -0.25]),
    "long.json": _model(coef=[0.5, -0.25, 1.0, 2.0]),
    "string.json": _model(coef=[0.5, "x", 1.0]),
    "nointercept.json": _model(intercept=DROP),
    "loss.json": _model(loss="cubic"),
    "algo.json": _model(algo="forest"),
    "classes.json": _model(classes=[0, 2]),
    "nan.json": _model(coef=[0.5, float("nan"), 1.0]),
    "kmeans.json": _model(algo="kmeans", loss=None, cluster_centers=[[1.0, 2.0]]),
    "multi.json": _model(multiclass="multinomial", classes=[0, 1, 2], coef=[[0.5, -0.25, 1.0]] * 2,
                         intercept=[0.0] * 3),
}


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    """A user's directory: data files of every kind, a model, a file, an empty directory."""
    d = tmp_path_factory.mktemp("user")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] + 0.5 * rng.standard_normal(60) > 0).astype(float)
    write_csv(d / "train.csv", y, X)
    write_csv(d / "unlabeled.csv", X[:, 0], X[:, 1:])       # 3 columns: no label for 3 features
    big = X.copy()
    big[7, 1] = 1e200
    write_csv(d / "big.csv", y, big)
    (d / "utf16.csv").write_bytes((d / "train.csv").read_text().encode("utf-16"))
    (d / "binary.csv").write_bytes(bytes(range(256)) * 8)
    lines = (d / "train.csv").read_text().splitlines()
    lines[4] = '"1","0.5,0.25,2'  # a quote never closed: one field where 4 belong
    (d / "quoted.csv").write_text("\n".join(lines) + "\n")
    (d / "empty.csv").write_text("")
    (d / "afile").write_text("not a directory\n")
    (d / "emptydir").mkdir()
    (d / "existing").mkdir()
    (d / "existing" / "keep.txt").write_text("mine\n")
    (d / "model.json").write_text(json.dumps(_model()))
    for name, model in DAMAGED_MODELS.items():
        (d / name).write_text(json.dumps(model))
    (d / "notjson.json").write_text("{coef: [1, 2]\n")
    (d / "labels012.csv").write_text("".join(
        "%d,%s\n" % (i % 3, line.split(",", 1)[1]) for i, line in
        enumerate((d / "train.csv").read_text().splitlines())))
    lines = (d / "train.csv").read_text().splitlines()
    lines[12] = "0.5," + lines[12].split(",", 1)[1]
    (d / "half.csv").write_text("\n".join(lines) + "\n")
    (d / "wide.svm").write_text("".join("%d %d:1.5 %d:-2\n" % (i % 2, 1 + i, 600 - i)
                                        for i in range(40)))
    rows = (d / "train.csv").read_text().splitlines()
    (d / "weighted.csv").write_text("".join(
        "%s,%s\n" % (line, "-1" if i == 5 else "2") for i, line in enumerate(rows)))
    (d / "foreign").mkdir()
    (d / "foreign" / "notes.txt").write_text("someone else's\n")
    (d / "damaged").mkdir()
    (d / "damaged" / "checkpoint.json").write_text(json.dumps(
        {"format": "mrlearn-checkpoint", "format_version": CHECKPOINT_VERSION, "history": 5}))
    assert main(["train", "--algo", "logistic", "--input", str(d / "train.csv"), "--model",
                 str(d / "run.json"), "--checkpoint-dir", str(d / "ckpt"), "--max-iter", "2",
                 "-q"]) == 0
    return d


TRAIN = ["train", "--algo", "logistic", "--input", "{d}/train.csv", "--model", "{d}/new.json"]
PREDICT = ["predict", "--model", "{d}/model.json", "--input", "{d}/train.csv"]
EVALUATE = ["evaluate", "--input", "{d}/train.csv", "--model"]

CASES = [
    # option values
    ("l2 nan", TRAIN + ["--l2", "nan"], "--l2: must be a finite number"),
    ("l2 inf", TRAIN + ["--l2", "inf"], "--l2: must be a finite number"),
    ("l2 negative", TRAIN + ["--l2", "-1"], "need --l2 >= 0"),
    ("tol nan", TRAIN + ["--tol", "nan"], "--tol: must be a finite number"),
    ("step nan", TRAIN + ["--solver", "gd", "--step-size", "nan"], "--step-size: must be a finite"),
    ("eta0 inf", TRAIN + ["--solver", "sgd", "--eta0", "inf"], "--eta0: must be a finite"),
    ("bad fraction", TRAIN + ["--skip-bad-rows", "--max-bad-fraction", "1.5"],
     "--max-bad-fraction: must be between 0 and 1"),
    ("max-iter 0", TRAIN + ["--max-iter", "0"], "--max-iter: must be at least 1"),
    ("mappers 0", TRAIN + ["--mappers", "0"], "--mappers: must be at least 1"),
    ("parts 0", ["prepare", "--input", "{d}/train.csv", "--output", "{d}/packed", "--parts", "0"],
     "--parts: must be at least 1"),
    ("jobconf", TRAIN + ["--jobconf", "novalue"], "--jobconf takes KEY=VALUE"),
    ("emr option", TRAIN + ["--cluster-id", "j-1"], "--cluster-id and --keep-cluster are for -r emr"),
    ("conf path", TRAIN + ["--conf-path", "{d}/nope.conf"], "nope.conf does not exist"),
    ("hinge newton", TRAIN[:2] + ["svm", "--loss", "hinge"] + TRAIN[3:], "not differentiable"),
    ("k missing", ["train", "--algo", "kmeans", "--input", "{d}/train.csv", "--model", "{d}/k.json"],
     "k-means needs --k"),
    ("optimal no l2", TRAIN + ["--solver", "sgd", "--schedule", "optimal"], "needs --l2 > 0"),
    ("svm multinomial", TRAIN[:2] + ["svm"] + TRAIN[3:] + ["--multiclass", "multinomial"],
     "svm trains one-vs-rest: use --multiclass ovr"),
    ("sgd multiclass", TRAIN + ["--solver", "sgd", "--multiclass", "ovr"],
     "--multiclass ovr applies to logistic and svm with --solver newton, lbfgs or gd"),
    ("resume alone", TRAIN + ["--resume"], "--resume needs --checkpoint-dir"),
    ("standardize csv", TRAIN + ["--standardize"], "--standardize needs input written by"),
    ("label none", TRAIN + ["--label-col", "none"], "logistic learns from a label column"),
    ("label range", TRAIN + ["--label-col", "7"], "--label-col 7 is outside the 4 columns"),
    ("negative weight", TRAIN[:4] + ["{d}/weighted.csv"] + TRAIN[5:] + ["--weight-col", "4"],
     "weighted.csv, line 6: weight -1 in column 5: weights must be >= 0"),
    ("weight is label", TRAIN + ["--weight-col", "0"], "--weight-col 0 is the label column"),
    ("weight range", TRAIN + ["--weight-col", "9"], "--weight-col 9 is outside the 4 columns"),
    ("weight libsvm", TRAIN[:4] + ["{d}/wide.svm", "--n-features", "600", "--solver", "lbfgs"]
     + TRAIN[5:] + ["--weight-col", "1"], "--weight-col applies to CSV and packed input, not libsvm"),
    ("class weight json", TRAIN + ["--class-weight", "{{0: 1}}"],
     "--class-weight must be balanced or a JSON object of label: weight"),
    ("class weight negative", TRAIN + ["--class-weight", '{{"0": -1}}'],
     "--class-weight must be balanced or a JSON object"),
    ("class weight label", TRAIN + ["--class-weight", '{{"2": 5}}'],
     "--class-weight names 2, not a class of {d}/train.csv"),
    ("class weight linear", TRAIN[:2] + ["linear"] + TRAIN[3:] + ["--class-weight", "balanced"],
     "--class-weight applies to logistic and svm, not linear"),
    # where outputs go
    ("model is input", TRAIN[:-1] + ["{d}/train.csv"], "--model {d}/train.csv is the input"),
    ("model holds input", TRAIN[:-1] + ["{d}"], "contains the input"),
    ("model is dir", TRAIN[:-1] + ["{d}/emptydir"], "--model {d}/emptydir is a directory"),
    ("model ends in /", TRAIN[:-1] + ["{d}/newdir/"], "ends in /"),
    ("model below file", TRAIN[:-1] + ["{d}/afile/m.json"], "lies below {d}/afile, which is a file"),
    ("checkpoint is file", TRAIN + ["--checkpoint-dir", "{d}/afile"],
     "--checkpoint-dir {d}/afile is a file"),
    ("checkpoint holds input", TRAIN + ["--checkpoint-dir", "{d}"], "contains the input"),
    ("output exists", PREDICT + ["--output", "{d}/existing"], "--output {d}/existing already exists"),
    ("output holds input", PREDICT + ["--output", "{d}"], "contains the input"),
    ("output below file", ["partition", "--input", "{d}/train.csv", "--output", "{d}/afile/p",
                           "--parts", "2", "--by", "range", "--key-col", "1"], "which is a file"),
    ("prepare into input", ["prepare", "--input", "{d}/train.csv", "--output", "{d}/train.csv"],
     "is the input"),
    # model files
    ("no model", EVALUATE + ["{d}/nope.json"], "cannot read model file {d}/nope.json"),
    ("model not json", EVALUATE + ["{d}/notjson.json"], "notjson.json is not JSON"),
    ("csv as model", EVALUATE + ["{d}/train.csv"], "train.csv is not JSON"),
    ("coef short", EVALUATE + ["{d}/short.json"], "short.json is damaged: coef must be 3 finite "
                                                  "numbers (n_features), found 2 values"),
    ("coef long", EVALUATE + ["{d}/long.json"], "found 4 values"),
    ("coef string", EVALUATE + ["{d}/string.json"], "string.json is damaged: coef must be"),
    ("coef nan", EVALUATE + ["{d}/nan.json"], "nan.json is damaged: coef must be"),
    ("multiclass coef", EVALUATE + ["{d}/multi.json"], "multi.json is damaged: coef must be 3 "
     "rows (classes) of 3 finite numbers"),
    ("no intercept", EVALUATE + ["{d}/nointercept.json"], "intercept must be a finite number"),
    ("unknown loss", EVALUATE + ["{d}/loss.json"], "unknown loss 'cubic' for logistic"),
    ("unknown algo", EVALUATE + ["{d}/algo.json"], "unknown algo 'forest'"),
    ("wrong classes", EVALUATE + ["{d}/classes.json"], "classes must be [0, 1] or [-1, 1]"),
    ("centers width", EVALUATE + ["{d}/kmeans.json"], "cluster_centers must be"),
    ("model width", ["evaluate", "--input", "{d}/big.csv", "--model", "{d}/model.json",
                     "--label-col", "none"], "the model has 3 features but"),
    ("evaluate unlabeled", ["evaluate", "--input", "{d}/unlabeled.csv", "--model", "{d}/model.json"],
     "evaluate needs labelled rows"),
    # inputs
    ("no input", TRAIN[:4] + ["{d}/nope/*.csv"] + TRAIN[5:], "matches no file; check --input"),
    ("all empty", TRAIN[:4] + ["{d}/empty.csv"] + TRAIN[5:], "every input file is empty"),
    ("utf16", TRAIN[:4] + ["{d}/utf16.csv"] + TRAIN[5:], "utf16.csv is not UTF-8 text"),
    ("binary", TRAIN[:4] + ["{d}/binary.csv"] + TRAIN[5:], "binary.csv is not UTF-8 text"),
    ("quoted", TRAIN[:4] + ["{d}/quoted.csv"] + TRAIN[5:],
     "quoted.csv, line 5: expected 4 fields, found 2 (check --sep and the quoting)"),
    ("huge values", TRAIN[:4] + ["{d}/big.csv"] + TRAIN[5:],
     "big.csv, line 8: field 3 is 1e+200; values must be finite and at most 1e+100"),
    ("kmeans short", ["train", "--algo", "kmeans", "--k", "3", "--max-iter", "2", "--input",
                      "{d}/train.csv", "--model", "{d}/k.json"],
     "--max-iter 2 is too few for k-means"),
    ("sgd sparse weights", TRAIN[:4] + ["{d}/wide.svm", "--n-features", "600", "--solver", "sgd"]
     + TRAIN[5:] + ["--weight-col", "1"], "--weight-col applies to CSV and packed input, not libsvm"),
    ("not a class", EVALUATE[:2] + ["{d}/labels012.csv"] + EVALUATE[3:] + ["{d}/model.json"],
     "labels012.csv, line 3: label 2: not a class of this model (0, 1)"),
    ("label 0.5", TRAIN[:4] + ["{d}/half.csv"] + TRAIN[5:], "half.csv, line 13: label 0.5"),
    # checkpoints
    ("checkpoint taken", TRAIN + ["--checkpoint-dir", "{d}/ckpt"],
     "--checkpoint-dir {d}/ckpt already holds a checkpoint"),
    ("checkpoint other run", TRAIN + ["--checkpoint-dir", "{d}/ckpt", "--resume", "--l2", "1"],
     "was written for a different run (l2 differ)"),
    ("checkpoint foreign", TRAIN + ["--checkpoint-dir", "{d}/foreign", "--resume"],
     "holds no checkpoint.json (found notes.txt)"),
    ("checkpoint damaged", TRAIN + ["--checkpoint-dir", "{d}/damaged", "--resume"],
     "--resume: {d}/damaged/checkpoint.json lacks 'config'"),
    # runs that go wrong after passes
    ("diverging gd", TRAIN[:2] + ["linear"] + TRAIN[3:] + ["--solver", "gd", "--step-size",
                                                          "1e6", "-q"],
     "made the linear/gd model non-finite"),
]


def run_case(argv, user_dir, capsys):
    """Run ``argv`` (with {d} = the user's directory); returns (exit code, stderr)."""
    argv = [a.format(d=user_dir) for a in argv]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_misuse_is_refused_in_one_line_and_changes_nothing(argv, message, user_dir, capsys):
    before = _snapshot(user_dir)
    code, err = run_case(argv, user_dir, capsys)
    first = err.strip().splitlines()[0] if err.strip() else ""
    assert code == 2, err
    assert first.startswith("mrlearn") and ": error: " in first, err
    assert message.format(d=user_dir) in err, err
    assert "Traceback" not in err
    assert _snapshot(user_dir) == before


def test_the_corpus_covers_at_least_thirty_kinds():
    assert len(CASES) >= 30


def test_an_empty_file_among_the_inputs_is_skipped(user_dir, tmp_path, capsys):
    data = tmp_path / "in"
    data.mkdir()
    (data / "part-00000").write_text("")
    (data / "part-00001").write_text((user_dir / "train.csv").read_text())
    code, err = run_case(["train", "--algo", "logistic", "--input", str(data), "--model",
                          str(tmp_path / "m.json"), "-q"], user_dir, capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["n_rows"] == 60


def test_predict_scores_rows_without_a_label(user_dir, tmp_path, capsys):
    """Rows holding exactly the model's features are scored as they are."""
    out = tmp_path / "pred"
    code, err = run_case(["predict", "--model", "{d}/model.json", "--input",
                          str(user_dir / "train.csv"), "--output", str(out)], user_dir, capsys)
    assert code == 0, err
    rows = np.loadtxt(user_dir / "train.csv", delimiter=",")
    out2 = tmp_path / "pred2"
    unlabeled = tmp_path / "x.csv"
    np.savetxt(unlabeled, rows[:, 1:], delimiter=",", fmt="%.17g")
    for extra in ([], ["--label-col", "none"]):
        target = out2 if not extra else tmp_path / "pred3"
        code, err = run_case(["predict", "--model", "{d}/model.json", "--input", str(unlabeled),
                              "--output", str(target)] + extra, user_dir, capsys)
        assert code == 0, err
        assert (target / "part-00000").read_text() == (out / "part-00000").read_text()
    margins = rows[:, 1:] @ [0.5, -0.25, 1.0] + 0.1
    written = np.loadtxt(out / "part-00000", delimiter=",")
    np.testing.assert_allclose(written[:, 1], 1 / (1 + np.exp(-margins)), rtol=1e-12)


@pytest.mark.local_runner
@pytest.mark.parametrize("name", ["model is input", "huge values", "diverging gd", "quoted",
                                  "output exists", "coef long"])
def test_misuse_on_the_local_runner(name, user_dir, capsys):
    argv, message = next(c[1:] for c in CASES if c[0] == name)
    test_misuse_is_refused_in_one_line_and_changes_nothing(argv + ["-r", "local"], message,
                                                           user_dir, capsys)


def _wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _interrupt(argv, ready, cwd, whom):
    """Start ``mrlearn argv``, send SIGINT once ``ready()`` to the driver alone or, as a
    terminal's Ctrl-C does, to its whole process group; returns (exit code, stderr)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from driver.cli import main; "
                             "sys.exit(main())"] + argv, cwd=cwd, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert _wait_for(ready, 120), "the command never reached the point to interrupt"
        if whom == "group":
            time.sleep(0.3)  # inside the next pass, its tasks running
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, err


@pytest.mark.local_runner
@pytest.mark.parametrize("whom", ["driver", "group"])
def test_ctrl_c_during_training_keeps_model_and_checkpoint(whom, user_dir, tmp_path):
    model = tmp_path / "m.json"
    model.write_text("the old model\n")
    checkpoint = tmp_path / "ckpt"
    argv = ["train", "--algo", "logistic", "--solver", "gd", "--max-iter", "1000", "--input",
            str(user_dir / "train.csv"), "--model", str(model), "--checkpoint-dir",
            str(checkpoint), "-r", "local", "-q"]
    saved = checkpoint / "checkpoint.json"
    code, err = _interrupt(argv, saved.exists, os.path.dirname(os.path.dirname(__file__)), whom)
    assert code == 130, err
    assert "Traceback" not in err and "mrlearn: interrupted" in err
    assert model.read_text() == "the old model\n"
    state = json.loads(saved.read_text())  # complete JSON: the write was atomic
    assert len(state["history"]) >= 1


@pytest.mark.parametrize("command", ["predict", "prepare", "partition"])
def test_ctrl_c_removes_the_output_the_command_created(command, user_dir, tmp_path, capsys,
                                                       monkeypatch):
    """Ctrl-C once the job has written its part files: the directory goes, exit 130."""
    import driver.passes

    out = tmp_path / "out"
    read_text = driver.passes.hdfs_utils.read_text

    def interrupted(path):
        if not path.startswith(str(out)):
            return read_text(path)
        assert os.listdir(out)
        raise KeyboardInterrupt

    monkeypatch.setattr(driver.passes.hdfs_utils, "read_text", interrupted)
    argv = [command, "--input", str(user_dir / "train.csv"), "--output", str(out)]
    argv += {"predict": ["--model", str(user_dir / "model.json")], "prepare": [],
             "partition": ["--parts", "2", "--by", "hash"]}[command]
    code, err = run_case(argv, user_dir, capsys)
    assert code == 130 and "mrlearn: interrupted" in err and "Traceback" not in err
    assert not out.exists()
