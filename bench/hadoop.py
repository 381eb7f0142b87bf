"""What a Hadoop pass costs against Hadoop's own floor, on the mini-cluster, in one run.

    python -m bench.hadoop [--rows 3000] [--passes 3] [--big-rows 800000] [--out DIR]

On the same HDFS input (``--rows`` logistic rows) it measures:

- the **bare streaming job** (``-mapper cat -reducer 'wc -l'``), as Hadoop runs it by
  default and in uber mode (tasks inside the ApplicationMaster), twice each;
- **mrlearn passes** (``mrlearn train -r hadoop --max-iter --passes``): seconds per pass and
  the ``hadoop`` client JVMs each started, counted by a logging wrapper around the
  ``hadoop`` binary (the runner's ``hadoop_bin``), over WebHDFS and with the NameNode's
  HTTP address unreachable (the CLI fallback);
- **parse once**: training on ``--big-rows`` of CSV (above the uber limit, so it packs)
  against ``mrlearn prepare`` followed by training on its packed output, on the
  mini-cluster and on the local runner, same passes; seconds and the largest coefficient
  difference.

Writes ``hadoop.json`` to ``--out`` (default ``bench/results``) and prints a table.
:func:`measure` runs on a cluster already started (the test tier's smoke test).
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import hdfs_utils
from driver.cli import main as mrlearn

HERE = os.path.dirname(os.path.abspath(__file__))
HADOOP_DIR = os.path.join(os.path.dirname(HERE), "conf", "hadoop")
HDFS_DIR = "hdfs:///user/mrlearn/bench"


def logistic_csv(path, rows, features=10, seed=0):
    """``rows`` rows of a logistic model (label first), full precision; returns ``path``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ rng.standard_normal(features))))).astype(int)
    with open(path, "w") as f:
        for lo in range(0, rows, 100000):
            np.savetxt(f, np.column_stack([y[lo:lo + 100000], X[lo:lo + 100000]]),
                       delimiter=",", fmt="%.17g")
    return path


def _put(local, name):
    uri = HDFS_DIR + "/" + name
    hdfs_utils.mkdir(HDFS_DIR)
    hdfs_utils.remove(uri)
    hdfs_utils.put(local, uri)
    return uri


def _streaming_jar():
    lib = os.path.join(HADOOP_DIR, "home", "share", "hadoop", "tools", "lib")
    return os.path.join(lib, next(n for n in os.listdir(lib) if n.startswith("hadoop-streaming")))


def bare_job_seconds(hadoop_bin, data, uber):
    """Wall seconds of ``hadoop jar hadoop-streaming.jar -mapper cat -reducer 'wc -l'``."""
    output = HDFS_DIR + "/bare-output"
    hdfs_utils.remove(output)
    started = time.time()
    subprocess.run([hadoop_bin, "jar", _streaming_jar()]
                   + (["-D", "mapreduce.job.ubertask.enable=true"] if uber else [])
                   + ["-input", data, "-output", output, "-mapper", "cat",
                      "-reducer", "wc -l"], check=True, capture_output=True)
    seconds = time.time() - started
    hdfs_utils.remove(output)
    return seconds


def _runner_conf(workdir, name, hadoop_bin):
    """An mrjob conf whose ``hadoop`` logs each call to ``<name>.calls``; (conf, log)."""
    log = os.path.join(workdir, name + ".calls")
    wrapper = os.path.join(workdir, name + "-hadoop")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\necho "$1 $2" >> "%s"\nexec "%s" "$@"\n' % (log, hadoop_bin))
    os.chmod(wrapper, 0o755)
    conf = os.path.join(workdir, name + ".conf")
    with open(conf, "w") as f:
        json.dump({"runners": {"hadoop": {"hadoop_bin": wrapper,
                                          "task_python_bin": sys.executable}}}, f)
    return conf, log


def train(argv, model):
    """Run ``mrlearn train`` in this process; (wall seconds, model dict)."""
    started = time.time()
    code = mrlearn(["train", "-q", "--model", model] + argv)
    if code:
        raise RuntimeError("mrlearn train %s exited %d" % (" ".join(argv), code))
    seconds = time.time() - started
    return seconds, json.loads(hdfs_utils.read_text(model))


def pass_costs(workdir, name, hadoop_bin, data, passes):
    """Seconds per pass and ``hadoop`` client JVMs of a ``passes``-pass logistic run: those
    up to the first job submission (input checks, staging), per later pass (from one
    submission to the next: the previous pass's result, then the job) and after the last
    submission (its result, the run directory's removal)."""
    conf, log = _runner_conf(workdir, name, hadoop_bin)
    seconds, model = train(["-r", "hadoop", "--conf-path", conf, "--algo", "logistic",
                            "--input", data, "--max-iter", str(passes)],
                           os.path.join(workdir, name + ".json"))
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    jars = [i for i, call in enumerate(calls) if call.startswith("jar ")]
    return {"run": name, "passes": model["n_passes"], "seconds": round(seconds, 2),
            "pass_seconds": [h["seconds"] for h in model["history"]],
            "jvms_to_first_pass": jars[0] + 1,
            "jvms_per_later_pass": [b - a for a, b in zip(jars, jars[1:])],
            "jvms_after_last_pass": len(calls) - jars[-1] - 1,
            "calls": sorted(set(calls)), "theta": model["coef"] + [model["intercept"]]}


def without_webhdfs(workdir):
    """A copy of the client conf whose NameNode HTTP address answers nothing; its dir."""
    conf_dir = os.path.join(workdir, "conf-no-http")
    shutil.rmtree(conf_dir, ignore_errors=True)
    shutil.copytree(os.environ["HADOOP_CONF_DIR"], conf_dir)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    site = os.path.join(conf_dir, "hdfs-site.xml")
    text = open(site).read()
    with open(site, "w") as f:
        f.write(re.sub(r"(dfs.namenode.http-address</name>\s*<value>)[^<]*",
                       r"\g<1>127.0.0.1:%d" % closed, text))
    return conf_dir


def parse_once(workdir, runner_argv, csv, label):
    """CSV training (parse once) against prepare + training on the packed output, each
    to convergence (Newton, the same passes)."""
    common = runner_argv + ["--algo", "logistic", "--l2", "1e-4"]
    csv_seconds, csv_model = train(common + ["--input", csv],
                                   os.path.join(workdir, label + "-csv.json"))
    packed_dir = csv.rsplit("/", 1)[0] + "/" + label + "-packed"
    hdfs_utils.remove(packed_dir)
    started = time.time()
    if mrlearn(["prepare", "--input", csv, "--output", packed_dir] + runner_argv):
        raise RuntimeError("mrlearn prepare failed")
    prepare_seconds = time.time() - started
    packed_seconds, packed_model = train(common + ["--input", packed_dir],
                                         os.path.join(workdir, label + "-packed.json"))
    hdfs_utils.remove(packed_dir)
    theta = lambda m: np.append(m["coef"], m["intercept"])  # noqa: E731
    return {"runner": label, "passes": csv_model["n_passes"],
            "csv_seconds": round(csv_seconds, 2), "prepare_seconds": round(prepare_seconds, 2),
            "packed_seconds": round(packed_seconds, 2),
            "ratio": round(csv_seconds / (prepare_seconds + packed_seconds), 3),
            "max_coef_difference": float(np.abs(theta(csv_model) - theta(packed_model)).max()),
            "csv_pass_seconds": [h["seconds"] for h in csv_model["history"]],
            "packed_pass_seconds": [h["seconds"] for h in packed_model["history"]]}


def measure(hadoop_bin, workdir, rows=3000, passes=3, big_rows=0, repeats=2):
    """Every figure, on the cluster of the current HADOOP_CONF_DIR; a dict."""
    data = _put(logistic_csv(os.path.join(workdir, "small.csv"), rows), "small.csv")
    results = {"rows": rows, "passes": passes,
               "bare_seconds": [bare_job_seconds(hadoop_bin, data, False) for _ in range(repeats)],
               "bare_uber_seconds": [bare_job_seconds(hadoop_bin, data, True)
                                     for _ in range(repeats)],
               "webhdfs": pass_costs(workdir, "webhdfs", hadoop_bin, data, passes)}
    conf_dir = os.environ["HADOOP_CONF_DIR"]
    os.environ["HADOOP_CONF_DIR"] = without_webhdfs(workdir)
    try:
        results["cli"] = pass_costs(workdir, "cli", hadoop_bin, data, passes)
    finally:
        os.environ["HADOOP_CONF_DIR"] = conf_dir
    bare = statistics.median(results["bare_seconds"])
    steady = statistics.median(results["webhdfs"]["pass_seconds"][1:] or
                               results["webhdfs"]["pass_seconds"])
    results["pass_over_bare"] = round(steady / bare, 3)
    if big_rows:
        local_csv = logistic_csv(os.path.join(workdir, "big.csv"), big_rows, seed=1)
        conf, _ = _runner_conf(workdir, "big", hadoop_bin)
        results["parse_once"] = [
            parse_once(workdir, ["-r", "hadoop", "--conf-path", conf],
                       _put(local_csv, "big.csv"), "hadoop"),
            parse_once(workdir, ["-r", "local"], local_csv, "local")]
    return results


def report(results):
    lines = ["bare streaming job: %s s (uber mode: %s s)" % (
                 results["bare_seconds"], results["bare_uber_seconds"]),
             "mrlearn pass / bare job: %.2f" % results["pass_over_bare"]]
    for run in (results["webhdfs"], results["cli"]):
        lines.append("%-8s pass seconds %s; hadoop JVMs: %d to the first pass, %s per later "
                     "pass, %d after the last (%s)" % (
                         run["run"], run["pass_seconds"], run["jvms_to_first_pass"],
                         run["jvms_per_later_pass"], run["jvms_after_last_pass"],
                         "; ".join(c.split(" ")[0] + " " + c.split(" ")[1][:20]
                                   for c in run["calls"])))
    for run in results.get("parse_once", []):
        lines.append("parse once, %s: CSV %.1f s vs prepare %.1f s + packed %.1f s "
                     "(ratio %.2f), coefficients differ by %.1e" % (
                         run["runner"], run["csv_seconds"], run["prepare_seconds"],
                         run["packed_seconds"], run["ratio"], run["max_coef_difference"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--big-rows", type=int, default=800000,
                        help="rows of the parse-once CSV (0: skip); > 128 MB to pack")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    sys.path.insert(0, HADOOP_DIR)
    from minicluster import MiniCluster
    workdir = tempfile.mkdtemp(prefix="bench-hadoop-")
    try:
        with MiniCluster(os.path.join(workdir, "cluster")) as cluster:
            os.environ.update(cluster.client_env())
            results = measure(cluster.hadoop_bin, workdir, args.rows, args.passes,
                              args.big_rows)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "hadoop.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(report(results))


if __name__ == "__main__":
    main()
