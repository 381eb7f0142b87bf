"""Shared datasets (written once per session as CSV) and helpers for running mrlearn."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

from driver.cli import main
from driver.passes import Runner
from driver.train import TrainConfig, checkpoint_path, train
from jobs.kernels import encode_labels, loss_sums

HADOOP_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "conf", "hadoop")


def fail_or_skip(message):
    """Skip a real-Hadoop test that cannot run here; in CI (``CI`` set) fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def hadoop_home():
    """HADOOP_HOME of the jars ``conf/hadoop/provision`` fetches from Maven Central."""
    try:
        done = subprocess.run([os.path.join(HADOOP_DIR, "provision")], capture_output=True,
                              text=True, timeout=1800, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        fail_or_skip("cannot provision Hadoop from Maven Central: %s %s"
                     % (e, getattr(e, "stderr", "") or ""))
    return done.stdout.strip()


@pytest.fixture(scope="session")
def task_python(tmp_path_factory):
    """A Python for tasks with numpy only (mrjob ships itself, mrlearn ships ``jobs``)."""
    venv = tmp_path_factory.mktemp("task-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "numpy==" + np.__version__],
                   check=True, timeout=900)
    return str(venv / "bin" / "python")


def write_csv(path, y, X, header=None):
    """Label first, features after, full float precision."""
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        np.savetxt(f, np.column_stack([y, X]), delimiter=",", fmt="%.17g")
    return str(path)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def cancer(data_dir):
    """breast_cancer, standardized: (path of CSV with labels 0/1, X, y)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return write_csv(data_dir / "cancer.csv", y, X), X, y.astype(float)


@pytest.fixture(scope="session")
def cancer_pm1(data_dir, cancer):
    """The same rows with labels -1/1 and a header line."""
    _, X, y = cancer
    return write_csv(data_dir / "cancer_pm1.csv", 2 * y - 1, X, header="y," + ",".join(
        "x%d" % i for i in range(X.shape[1]))), X, 2 * y - 1


@pytest.fixture(scope="session")
def diabetes(data_dir):
    X, y = load_diabetes(return_X_y=True)
    return write_csv(data_dir / "diabetes.csv", y, X), X, y


def objective(loss, X, y, theta, l2):
    """F(theta) = mean loss + l2/2 ||w||^2 computed in one block, for reference values."""
    sums = loss_sums(loss, X, encode_labels(y, loss), np.asarray(theta)[None, :], 1)
    w = np.asarray(theta)[:-1]
    return sums["loss"][0] / len(y) + 0.5 * l2 * w @ w, sums["grad"][0] / len(y) + l2 * np.append(w, 0.0)


def fit(algo, path, runner="inline", mappers=None, conf_path=None, **options):
    """Train in-process; returns the model dict."""
    with Runner(runner, conf_path=conf_path, mappers=mappers) as r:
        return train(TrainConfig(algo, [path], **options), r)


def interrupted_and_straight(config, checkpoint_dir, interrupt_after):
    """Train ``config`` on the inline runner, interrupted after pass ``interrupt_after``
    and resumed, and once straight through; returns (resumed model, straight model)."""
    def interrupt(entry):
        if entry["pass"] == interrupt_after:
            raise KeyboardInterrupt

    with Runner("inline") as runner:
        with pytest.raises(KeyboardInterrupt):
            train(config, runner, checkpoint_dir, report=interrupt)
        with open(checkpoint_path(checkpoint_dir)) as f:
            assert len(json.load(f)["history"]) == interrupt_after
        return train(config, runner, checkpoint_dir, resume=True), train(config, runner)


def theta_of(model):
    return np.append(model["coef"], model["intercept"])


def run_cli(*argv):
    """Run the CLI in-process; returns its exit code."""
    return main([str(a) for a in argv])
