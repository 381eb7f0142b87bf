"""Running one MapReduce pass on any mrjob runner, and the one place that knows runners.

:func:`run_pass` writes the pass parameters to a JSON file that reaches every task as a
file argument, runs the job and returns the single record its reducer emitted. Everything
runner-specific (which mrjob switches, shipping the ``jobs`` package) is in
:meth:`Runner.mrjob_args`.
"""
import json
import logging
import os
import shutil
import sysconfig
import tempfile
import zipfile

from mrjob.step import StepFailedException

import hdfs_utils
import jobs
from jobs.records import from_wire
from driver.emr import EmrCluster
from driver.errors import MrlearnError
from driver.interrupts import deferred, raise_if_interrupted
from jobs.partitioning import hadoop_partition

RUNNERS = ("inline", "local", "hadoop", "emr")
SINGLE_THREADED_BLAS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Every task gets one BLAS thread: tasks run one per core (the local runner's processes,
Hadoop's one-vcore containers) on blocks of a few thousand rows, where more threads only
spin against the node's other tasks (2 cores, 1M rows, one packed Newton map task: 3.8 s
with a thread per core, 1.5 s with one; a 250k-row CSV one: 5.2 s -> 2.4 s)."""


class Runner:
    """Where and how passes run: mrjob runner name, conf file, number of mappers.

    Owns a scratch directory (pass parameter files, the zip of ``jobs``); use as a
    context manager so it is removed at the end.
    """

    def __init__(self, name="inline", conf_path=None, mappers=None, jobconf=None,
                 cluster_id=None, keep_cluster=False):
        if name not in RUNNERS:
            raise MrlearnError("unknown runner %r; choose one of %s" % (name, ", ".join(RUNNERS)))
        if mappers is not None and mappers < 1:
            raise MrlearnError("--mappers must be at least 1, not %d" % mappers)
        if conf_path and not os.path.exists(conf_path):
            raise MrlearnError("mrjob conf file %s does not exist; fix --conf-path" % conf_path)
        self.name = name
        self.conf_path = conf_path
        self.mappers = mappers
        self.jobconf = dict(jobconf or {})
        if (cluster_id or keep_cluster) and name != "emr":
            raise MrlearnError("--cluster-id and --keep-cluster are for -r emr")
        self.emr = EmrCluster(conf_path, cluster_id, keep_cluster) if name == "emr" else None
        if self.emr:
            # step states, logged by mrjob at INFO, are the only view of a pass in flight
            for logger in ("mrjob.emr", "driver.emr"):
                logging.getLogger(logger).setLevel(logging.INFO)
        self.scratch = tempfile.mkdtemp(prefix="mrlearn-")
        self._jobs_zip = None
        self._n_params = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.emr:
            self.emr.close()

    def jobs_zip(self):
        """Zip of the ``jobs`` package, for tasks where mrlearn is not installed."""
        if self._jobs_zip is None:
            self._jobs_zip = os.path.join(self.scratch, "mrlearn_jobs.zip")
            package_dir = os.path.dirname(os.path.abspath(jobs.__file__))
            with zipfile.ZipFile(self._jobs_zip, "w", zipfile.ZIP_DEFLATED) as zf:
                for name in sorted(os.listdir(package_dir)):
                    if name.endswith(".py"):
                        zf.write(os.path.join(package_dir, name), "jobs/" + name)
        return self._jobs_zip

    def mrjob_args(self):
        """mrjob command-line switches for this runner (the only runner branch)."""
        args = ["-r", self.name]
        args += ["--conf-path", self.conf_path] if self.conf_path else ["--no-conf"]
        if self.name != "inline":
            # tasks run in fresh interpreters, possibly on machines without mrlearn
            args += ["--py-files", self.jobs_zip()]
            for variable in SINGLE_THREADED_BLAS:
                args += ["--cmdenv", "%s=1" % variable]
        if self.name == "local":
            args += local_task_args()
        if self.name in ("hadoop", "emr"):
            # the driver checked the inputs once; mrjob would ask the cluster again each pass
            args += ["--no-check-input-paths"]
        if self.emr:
            # every pass is a step on the command's one cluster; results come back in the
            # reducer's output, so no pass waits minutes for its logs to reach S3
            args += ["--cluster-id", self.emr.cluster_id(), "--no-read-logs"]
        if self.mappers:
            if self.name in ("inline", "local"):
                args += ["--num-cores", str(self.mappers)]
            else:
                args += ["--jobconf", "mapreduce.job.maps=%d" % self.mappers]
        for key, value in sorted(self.jobconf.items()):
            args += ["--jobconf", "%s=%s" % (key, value)]
        return args

    def mrjob_runner_class(self, job, partitioned=False):
        """The mrjob runner class to run ``job`` with: mrjob's, except that the local
        runner makes one input split per mapper (mrjob makes two, hence two waves of task
        interpreters, 0.3-0.5 s each, per pass), as Hadoop makes about one per map slot;
        and, for ``partitioned`` output, the simulated runners assign reducers the way
        Hadoop's HashPartitioner does."""
        runner_class = job._runner_class()
        if self.name == "local":
            runner_class = _one_split_per_mapper(runner_class)
        if partitioned and self.name in ("inline", "local"):
            runner_class = _hash_partitioned(runner_class)
        return runner_class

    def input_paths(self, files):
        """Input paths as this runner's tasks should see them.

        Hadoop reads local files in place through ``file://`` (local mode, or a cluster
        whose nodes share the path); mrjob would otherwise copy them to HDFS every pass.
        """
        return [self.task_path(f) for f in files]

    def task_path(self, path):
        """A path as tasks see it: for Hadoop a local path is ``file://`` (mrjob would take
        it for an HDFS path); EMR steps read and write S3 in place, never local paths."""
        if hdfs_utils.is_uri(path):
            return path
        if self.emr:
            raise MrlearnError("-r emr reads inputs and writes outputs in place on S3; %s is "
                               "a local path: copy it to s3:// first (aws s3 cp) or give an "
                               "s3:// output" % path)
        if self.name != "hadoop" or path.startswith("file://"):
            return path
        return "file://" + os.path.abspath(path)

    def failure_hint(self, mr):
        """Where the failed pass's task errors are (mrjob logged them, except on EMR)."""
        if not self.emr:
            return "the task's error is logged above"
        steps = getattr(mr, "_step_ids", None) or ["(not submitted)"]
        return "step %s on cluster %s; its logs reach %s within minutes" % (
            steps[-1], self.emr.cluster_id(),
            self.emr.log_dir(steps[-1]) or "the cluster's log URI (set cloud_log_dir)")

    def working_dir(self):
        """A fresh directory to run one pass from (Hadoop's LocalJobRunner links the job's
        files into the current directory, so two passes must not share one)."""
        self._n_params += 1
        path = os.path.join(self.scratch, "cwd-%04d" % self._n_params)
        os.makedirs(path)
        return path

    def params_file(self, params):
        """Write pass parameters to a fresh JSON file in the scratch directory."""
        self._n_params += 1
        path = os.path.join(self.scratch, "pass-%04d.json" % self._n_params)
        with open(path, "w") as f:
            json.dump(params, f)
        return path


def local_task_args():
    """mrjob switches for local-runner tasks, so that they start sooner and share the cores.

    - No mrjob.zip: the tasks run the driver's own interpreter, where mrjob is installed
      (mrjob would zip itself every pass, and every task compile it from the zip).
    - The standard library's distutils where there is one (before Python 3.12): mrjob
      imports distutils, which setuptools' shim in a virtualenv answers by loading all of
      setuptools, 0.14 s a task.
    """
    args = ["--no-bootstrap-mrjob"]
    if os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "distutils", "__init__.py")):
        args += ["--cmdenv", "SETUPTOOLS_USE_DISTUTILS=stdlib"]
    return args


def job_args(runner, params, inputs, output_dir=None):
    paths = runner.input_paths(inputs)  # a path the runner cannot use fails before it starts
    if output_dir:
        paths = ["--output-dir", runner.task_path(output_dir)] + paths
    return runner.mrjob_args() + ["--params", runner.params_file(params)] + paths


def _run(mr, job_class, runner):
    """Run a step; a failed step (task errors are logged above by mrjob) is one message, or
    KeyboardInterrupt when Ctrl-C failed it."""
    cwd = os.getcwd()
    try:
        if runner.name == "hadoop":
            os.chdir(runner.working_dir())
        with deferred(runner.name == "local"):  # its process pool must not be interrupted
            mr.run()
    except StepFailedException as e:
        raise_if_interrupted()
        raise MrlearnError("%s failed on the %s runner (%s); %s"
                           % (job_class.__name__, mr.alias, e, runner.failure_hint(mr)))
    finally:
        os.chdir(cwd)
        _remove_setup_lock(mr)
    raise_if_interrupted()


def _remove_setup_lock(mr):
    """Remove the lock file mrjob's setup wrapper leaves in /tmp for every job whose tasks
    ran on this machine (local runner, Hadoop's local mode); mrjob never removes it."""
    try:
        os.remove("/tmp/wrapper.lock.%s" % mr.get_job_key())
    except OSError:
        pass


def run_pass(job_class, params, inputs, runner):
    """Run one summary pass; returns the reducer's single record (a dict of JSON types)."""
    job = job_class(args=job_args(runner, params, inputs))
    with runner.mrjob_runner_class(job)(**job._runner_kwargs()) as mr:
        _run(mr, job_class, runner)
        records = [from_wire(value, lists=True) for _, value in job.parse_output(mr.cat_output())]
    if len(records) != 1:
        raise RuntimeError("pass produced %d records, expected 1" % len(records))
    return records[0]


def run_partitioned(job_class, params, inputs, output_dir, runner, check=None):
    """Run a :class:`jobs.base.PartitionedOutputJob` into ``output_dir`` (which must not exist).

    Writes part files ``part-00000`` .. ``part-{N-1}`` (N = ``params["parts"]``), each
    holding exactly what the job sent to that part, and returns the job's summary record
    (read from part file N, which is then removed). ``check(summary)`` may raise to reject
    the result. On any failure, Ctrl-C included, ``output_dir`` is removed, so the same
    command can simply be run again.
    """
    reducers = params["parts"] + 1
    runner_args = ["--jobconf", "mapreduce.job.reduces=%d" % reducers]
    job = job_class(args=job_args(runner, params, inputs, output_dir) + runner_args)
    try:
        with runner.mrjob_runner_class(job, partitioned=True)(**job._runner_kwargs()) as mr:
            _run(mr, job_class, runner)
        summary_path = output_dir.rstrip("/") + "/part-%05d" % params["parts"]
        summary = json.loads(hdfs_utils.read_text(summary_path))
        hdfs_utils.remove(summary_path)
        if check:
            check(summary)
    except BaseException:
        hdfs_utils.remove(output_dir)
        raise
    return summary


def _hash_partitioned(sim_runner_class):
    """The inline/local runner with Hadoop's reducer assignment instead of mrjob's.

    mrjob's simulated runners split the sorted map output into chunks of similar size;
    Hadoop gives each reducer the keys its HashPartitioner picks, with the number of
    reducers the job asks for. Partitioned outputs need the latter.
    """

    class HashPartitionedRunner(sim_runner_class):
        def _split_reducer_input(self, step_num):
            reducers = int(self._jobconf_for_step(step_num)["mapreduce.job.reduces"])
            outputs = [self._task_input_path("reducer", step_num, i) for i in range(reducers)]
            for path in outputs:
                self.fs.mkdir(os.path.dirname(path))
            files = [open(path, "wb") for path in outputs]
            try:
                with open(self._sorted_reducer_input_path(step_num), "rb") as sorted_input:
                    for line in sorted_input:
                        key = line.split(b"\t", 1)[0]
                        files[hadoop_partition(key, reducers)].write(line)
            finally:
                for f in files:
                    f.close()
            return reducers

    return HashPartitionedRunner


def _one_split_per_mapper(local_runner_class):
    class OneSplitPerMapperRunner(local_runner_class):
        def _pick_mapper_split_size(self, input_paths, step_num):
            """mrjob's rule (a compressed file is one split; the rest is cut evenly) aiming
            at one split per mapper instead of two."""
            plain = [p for p in input_paths if not p.endswith((".gz", ".bz2"))]
            splits = max(self._num_mappers(step_num) - (len(input_paths) - len(plain)), 1)
            return max(1, -(-sum(os.path.getsize(p) for p in plain) // splits))

    return OneSplitPerMapperRunner
