"""Running one MapReduce pass on any mrjob runner, and the one place that knows runners.

:func:`run_pass` runs a summary job and returns the single record its reducer emitted;
:func:`run_partitioned` runs a job writing part files. What differs between runners lives
in one class each: :class:`Runner` (inline: tasks in this process), :class:`LocalRunner`
(task subprocesses), :class:`HadoopRunner` (a cluster or Hadoop's local mode) and
:class:`EmrRunner` (steps on an EMR cluster). ``Runner(name, ...)`` builds the right one.
mrjob's private API is used only through :mod:`driver.mrjob_adapter`.

On Hadoop and EMR a command stages the code its tasks need (mrjob.zip, the ``jobs`` zip, job
scripts, the setup wrapper) once, content-addressed, in one run directory beside mrjob's
temp directories, and removes it when it ends; pass parameters travel in the task command
line (:mod:`jobs.params`) unless they are large, and then as one upload.
"""
import contextlib
import json
import logging
import os
import posixpath
import shutil
import sysconfig
import tempfile
import zipfile

from mrjob.step import StepFailedException

import hdfs_utils
import jobs
from driver import mrjob_adapter as adapter
from driver.emr import EmrCluster
from driver.errors import MrlearnError
from driver.interrupts import deferred, raise_if_interrupted
from jobs.params import inline_value, params_json
from jobs.records import from_wire, join_shards

log = logging.getLogger(__name__)

SINGLE_THREADED_BLAS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Every task gets one BLAS thread: tasks run one per core (the local runner's processes,
Hadoop's one-vcore containers) on blocks of a few thousand rows, where more threads only
spin against the node's other tasks (2 cores, 1M rows, one packed Newton map task: 3.8 s
with a thread per core, 1.5 s with one; a 250k-row CSV one: 5.2 s -> 2.4 s)."""
PARSE_ONCE_MIN_BYTES = 16 * 1024 * 1024
"""Training over at least this much text parses it once (:mod:`driver.parse_once`) on the
inline and local runners; below, a pass parses it in less time than packing costs."""
SHARD_FEATURES = 2 ** 18
"""Features per reducer of a model-parallel pass by default (``--reducers``): a d-vector
block of 2 MB; below it, one reducer."""
UBER_MAX_BYTES = 128 * 1024 * 1024
"""Hadoop passes over at most this much input (and no ``--mappers``) run their tasks inside
the job's ApplicationMaster (``mapreduce.job.ubertask.enable``): no container starts per
task. Hadoop still decides against it when the input is over one block or more than
``ubertask.maxmaps`` splits. Measured on the mini-cluster, a 3000-row pass: 9-13 s in
uber mode, 19-22 s without."""


class Runner:
    """Where and how passes run: the mrjob runner, its conf file, the number of mappers and
    extra jobconf. ``Runner(name, ...)`` is the class for ``name`` (inline, local, hadoop,
    emr); this base class is the inline runner's.

    Owns a scratch directory (pass parameter files, the zip of ``jobs``); use as a context
    manager so that it and what the command staged are removed at the end.
    """

    name = "inline"

    def __new__(cls, name="inline", *args, **kwargs):
        if cls is Runner:
            if name not in RUNNER_CLASSES:
                raise MrlearnError("unknown runner %r; choose one of %s"
                                   % (name, ", ".join(RUNNERS)))
            cls = RUNNER_CLASSES[name]
        return object.__new__(cls)

    def __init__(self, name="inline", conf_path=None, mappers=None, jobconf=None,
                 cluster_id=None, keep_cluster=False, reducers=None):
        for option, value in (("--mappers", mappers), ("--reducers", reducers)):
            if value is not None and value < 1:
                raise MrlearnError("%s must be at least 1, not %d" % (option, value))
        if conf_path and not os.path.exists(conf_path):
            raise MrlearnError("mrjob conf file %s does not exist; fix --conf-path" % conf_path)
        if (cluster_id or keep_cluster) and not isinstance(self, EmrRunner):
            raise MrlearnError("--cluster-id and --keep-cluster are for -r emr")
        self.conf_path = conf_path
        self.mappers, self.reducers = mappers, reducers
        self.jobconf = dict(jobconf or {})
        self.scratch = tempfile.mkdtemp(prefix="mrlearn-")
        self._n_files = 0
        self._input_bytes = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def mrjob_args(self, inputs=(), reducers=1):
        """mrjob command-line switches for a pass over the files ``inputs``."""
        args = ["-r", self.name]
        args += ["--conf-path", self.conf_path] if self.conf_path else ["--no-conf"]
        args += self.runner_args(inputs, reducers)
        for key, value in sorted(self.jobconf.items()):
            args += ["--jobconf", "%s=%s" % (key, value)]
        return args

    def runner_args(self, inputs, reducers):
        """This runner's own switches for a pass over ``inputs`` with ``reducers``."""
        return ["--num-cores", str(self.mappers)] if self.mappers else []

    def shards(self, job_class, params):
        """Reducers of a pass of ``job_class`` (each summing one block of its record's
        coordinate fields, :mod:`jobs.records`): 1 unless the job is ``MODEL_PARALLEL``;
        then ``--reducers``, by default one per :data:`SHARD_FEATURES` features, never more
        than the features."""
        if not getattr(job_class, "MODEL_PARALLEL", False):
            return 1
        d = params.get("n_features") or 1
        return max(1, min(self.reducers or -(-d // SHARD_FEATURES), d))

    def wrap(self, runner_class, partitioned):
        """The mrjob runner class to run with: for ``partitioned`` output, the simulated
        runners assign reducers the way Hadoop's HashPartitioner does."""
        return adapter.hash_partitioned(runner_class) if partitioned else runner_class

    def task_path(self, path):
        """A path as this runner's tasks should see it."""
        return path

    def input_paths(self, files):
        """Input paths as this runner's tasks should see them (a path the runner cannot use
        fails before anything starts)."""
        return [self.task_path(f) for f in files]

    def failure_hint(self, mr):
        """Where the failed pass's task errors are."""
        return "the task's error is logged above"

    @contextlib.contextmanager
    def running(self):
        """Around one pass's ``mr.run()``."""
        yield

    def retry_differently(self):
        """After a failed pass: True when it should run once more, set up another way."""
        return False

    def read_output(self, mr):
        """The bytes a finished mrjob runner's job wrote (its part files, in order)."""
        return mr.cat_output()

    def setup_lock(self, mr):
        """The lock file mrjob's setup wrapper leaves in /tmp where tasks ran."""
        return "/tmp/wrapper.lock.%s" % mr.get_job_key()

    def input_bytes(self, files):
        """Total size of the files ``files`` (None if unknown), measured once per command:
        free for local files, a request per file over WebHDFS or S3, one JVM without."""
        key = tuple(files)
        if key not in self._input_bytes:
            try:
                self._input_bytes[key] = sum(hdfs_utils.size(p) for p in files)
            except (OSError, ValueError):
                self._input_bytes[key] = None
        return self._input_bytes[key]

    def packs_text(self, files):
        """Whether training over the text ``files`` parses them once
        (:mod:`driver.parse_once`): when they hold :data:`PARSE_ONCE_MIN_BYTES` or more."""
        size = self.input_bytes(files)
        return size is not None and size >= PARSE_ONCE_MIN_BYTES

    def pack_parts(self, files):
        """Part files parse once writes for the input ``files``: one a file."""
        return max(1, len(files))

    def temp_dir(self):
        """Where a command's temporary data (packed input) goes when it has no checkpoint
        directory; removed when the runner closes."""
        return self.scratch

    def scratch_path(self, prefix):
        self._n_files += 1
        return os.path.join(self.scratch, "%s-%04d" % (prefix, self._n_files))

    def params_args(self, params):
        """``--params-inline`` when small, else a ``--params`` JSON file (which mrjob ships
        with the pass; on a cluster, one upload)."""
        text = params_json(params)  # once: a wide model's lists are converted here
        inline = inline_value(text)
        if inline is not None:
            return ["--params-inline", inline]
        path = self.scratch_path("pass") + ".json"
        with open(path, "w") as f:
            f.write(text)
        return ["--params", path]


class LocalRunner(Runner):
    """mrjob's local runner: map and reduce tasks in subprocesses of this machine, one
    input split per mapper."""

    name = "local"

    def runner_args(self, inputs, reducers):
        return (shipped_code_args(self) + Runner.runner_args(self, inputs, reducers)
                + local_task_args())

    def wrap(self, runner_class, partitioned):
        return Runner.wrap(self, adapter.one_split_per_mapper(runner_class), partitioned)

    def pack_parts(self, files):
        """One a file, and at least one a mapper (one a core unless ``--mappers`` says, as
        mrjob's local runner): each mapper's split is then a whole part, linked, not copied."""
        return max(1, len(files), self.mappers or os.cpu_count() or 1)

    @contextlib.contextmanager
    def running(self):
        with deferred(True):  # its process pool must not be interrupted
            yield


class ClusterRunner(Runner):
    """What Hadoop and EMR share: a run directory on the cluster's filesystem (``staging``:
    the code staged once, the jobs' outputs, packed input), removed when the command ends;
    pass results read from the job's part files; a setup lock named by the command."""

    def stage_in(self, temp_dir):
        """Put the run directory in ``temp_dir`` (a URI)."""
        self.staging = adapter.Staging(
            posixpath.join(temp_dir, os.path.basename(self.scratch)) + "/")

    def close(self):
        try:
            if self.staging.used:
                hdfs_utils.remove(self.staging.root)
        except (OSError, ValueError) as e:  # never hides the error that ended the command
            log.warning("could not remove the run directory %s (%s); remove it by hand",
                        self.staging.root, e)
        finally:
            Runner.close(self)

    def setup_lock(self, mr):
        return "/tmp/wrapper.lock.%s" % self.staging.name

    def read_output(self, mr):
        return hdfs_utils.cat_parts(mr.get_output_dir())

    def packs_text(self, files):
        """Text larger than :data:`UBER_MAX_BYTES`: passes over less run in uber mode,
        where the parsing they save costs less than a packing pass's extra reducer."""
        size = self.input_bytes(files)
        return size is not None and size > UBER_MAX_BYTES

    def temp_dir(self):
        return self.staging.root + "data"


class HadoopRunner(ClusterRunner):
    """``-r hadoop``: a cluster (``HADOOP_CONF_DIR``) or Hadoop's local mode. Code is staged
    once per command (:func:`driver.mrjob_adapter.staged`), HDFS is reached over WebHDFS
    where possible (:mod:`hdfs_utils.webhdfs`), small passes run in uber mode."""

    name = "hadoop"

    def __init__(self, *args, **kwargs):
        Runner.__init__(self, *args, **kwargs)
        temp_dir, self.hadoop_bin = adapter.hadoop_options(self.conf_path)
        self.stage_in(temp_dir)
        hdfs_utils.use_hadoop_bin(self.hadoop_bin)
        self._uber_last = False  # whether the pass set up last runs in uber mode
        self._no_uber_next = False

    def close(self):
        try:
            ClusterRunner.close(self)
        finally:
            hdfs_utils.use_hadoop_bin(None)

    def runner_args(self, inputs, reducers):
        # the driver checked the inputs once; mrjob would ask the cluster again each pass
        args = shipped_code_args(self) + ["--no-check-input-paths"]
        if self.mappers:
            args += ["--jobconf", "mapreduce.job.maps=%d" % self.mappers]
        size = self.input_bytes(inputs)
        self._uber_last = (not self._no_uber_next and not self.mappers and reducers == 1
                           and size is not None and size <= UBER_MAX_BYTES
                           and "mapreduce.job.ubertask.enable" not in self.jobconf)
        self._no_uber_next = False
        if self._uber_last:
            args += ["--jobconf", "mapreduce.job.ubertask.enable=true"]
        return args

    def retry_differently(self):
        """A pass that failed in uber mode runs once more as a normal job: Hadoop retries
        no task of an uber job, and a task attempt may fail for reasons of its node."""
        if not self._uber_last:
            return False
        log.warning("the pass failed in uber mode, where Hadoop retries no task; running it "
                    "again as a normal job")
        self._no_uber_next = True
        return True

    def wrap(self, runner_class, partitioned):
        return adapter.over_webhdfs(adapter.staged(runner_class, self.staging), self.staging)

    def task_path(self, path):
        """Hadoop reads local files in place through ``file://`` (local mode, or a cluster
        whose nodes share the path); mrjob would otherwise take them for HDFS paths."""
        if hdfs_utils.is_uri(path) or path.startswith("file://"):
            return path
        return "file://" + os.path.abspath(path)

    @contextlib.contextmanager
    def running(self):
        """In a fresh directory: Hadoop's LocalJobRunner links the job's files into the
        current one, so two passes must not share it."""
        cwd = os.getcwd()
        path = self.scratch_path("cwd")
        os.makedirs(path)
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(cwd)


class EmrRunner(ClusterRunner):
    """``-r emr``: every pass is a step on the command's one cluster (created on the first
    pass unless ``cluster_id`` names one), reading and writing S3 in place; the run
    directory is in the conf's ``cloud_tmp_dir``."""

    name = "emr"

    def __init__(self, name="emr", conf_path=None, mappers=None, jobconf=None,
                 cluster_id=None, keep_cluster=False, reducers=None):
        Runner.__init__(self, name, conf_path, mappers, jobconf, cluster_id, keep_cluster,
                        reducers)
        self.emr = EmrCluster(conf_path, cluster_id, keep_cluster)
        self.stage_in(self.emr.temp_dir())
        # step states, logged by mrjob at INFO, are the only view of a pass in flight
        for logger in ("mrjob.emr", "driver.emr"):
            logging.getLogger(logger).setLevel(logging.INFO)

    def close(self):
        try:
            ClusterRunner.close(self)
        finally:
            self.emr.close()

    def runner_args(self, inputs, reducers):
        # results come back in the reducer's output, so no pass waits minutes for its logs
        args = shipped_code_args(self) + ["--no-check-input-paths",
                                          "--cluster-id", self.emr.cluster_id(), "--no-read-logs"]
        if self.mappers:
            args += ["--jobconf", "mapreduce.job.maps=%d" % self.mappers]
        return args

    def wrap(self, runner_class, partitioned):
        return adapter.staged(runner_class, self.staging)

    def task_path(self, path):
        """EMR steps read and write S3 in place, never local paths."""
        if hdfs_utils.is_uri(path):
            return path
        raise MrlearnError("-r emr reads inputs and writes outputs in place on S3; %s is "
                           "a local path: copy it to s3:// first (aws s3 cp) or give an "
                           "s3:// output" % path)

    def failure_hint(self, mr):
        steps = adapter.step_ids(mr) or ["(not submitted)"]
        return "step %s on cluster %s; its logs reach %s within minutes" % (
            steps[-1], self.emr.cluster_id(),
            self.emr.log_dir(steps[-1]) or "the cluster's log URI (set cloud_log_dir)")


RUNNER_CLASSES = {"inline": Runner, "local": LocalRunner, "hadoop": HadoopRunner,
                  "emr": EmrRunner}
RUNNERS = tuple(RUNNER_CLASSES)


def shipped_code_args(runner):
    """Tasks run in fresh interpreters, possibly on machines without mrlearn: ship the
    ``jobs`` package, one BLAS thread each."""
    args = ["--py-files", jobs_zip(runner)]
    for variable in SINGLE_THREADED_BLAS:
        args += ["--cmdenv", "%s=1" % variable]
    return args


def jobs_zip(runner):
    """Zip of the ``jobs`` package in the runner's scratch directory (made once)."""
    path = os.path.join(runner.scratch, "mrlearn_jobs.zip")
    if not os.path.exists(path):
        package_dir = os.path.dirname(os.path.abspath(jobs.__file__))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(os.listdir(package_dir)):
                if name.endswith(".py"):
                    zf.write(os.path.join(package_dir, name), "jobs/" + name)
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


def job_args(runner, params, inputs, output_dir=None, reducers=1):
    paths = runner.input_paths(inputs)
    if output_dir:
        paths = ["--output-dir", runner.task_path(output_dir)] + paths
    return runner.mrjob_args(inputs, reducers) + runner.params_args(params) + paths


class PassFailed(MrlearnError):
    """A pass whose tasks failed (their errors are logged above by mrjob)."""


def _run(mr, job_class, runner):
    """Run a step; a failed step is :class:`PassFailed`, or KeyboardInterrupt when Ctrl-C
    failed it."""
    try:
        with runner.running():
            mr.run()
    except StepFailedException as e:
        raise_if_interrupted()
        raise PassFailed("%s failed on the %s runner (%s); %s"
                         % (job_class.__name__, mr.alias, e, runner.failure_hint(mr)))
    finally:
        _remove_setup_lock(runner.setup_lock(mr))
    raise_if_interrupted()


def _execute(job_class, make_args, runner, partitioned, collect, before_retry=None):
    """Build the job from ``make_args()``, run it and return ``collect(job, mr)``; a pass
    the runner can run again another way (:meth:`Runner.retry_differently`) is run once
    more, after ``before_retry()``."""
    while True:
        job = job_class(args=make_args())
        try:
            with adapter.runner_for(job, lambda cls: runner.wrap(cls, partitioned)) as mr:
                _run(mr, job_class, runner)
                return collect(job, mr)
        except PassFailed:
            if not runner.retry_differently():
                raise
            if before_retry:
                before_retry()


def _remove_setup_lock(path):
    """Remove the lock file mrjob's setup wrapper leaves in /tmp for every job whose tasks
    ran on this machine (local runner, Hadoop's local mode); mrjob never removes it."""
    try:
        os.remove(path)
    except OSError:
        pass


def run_pass(job_class, params, inputs, runner):
    """Run one summary pass; returns its record (a dict of JSON types): the one reducer's,
    or the R reducers' shard records joined (:meth:`Runner.shards`)."""
    shards = runner.shards(job_class, params)
    extra = []
    if shards > 1:
        params = dict(params, shards=shards)
        extra = ["--jobconf", "mapreduce.job.reduces=%d" % shards]
    records = _execute(job_class, lambda: job_args(runner, params, inputs, reducers=shards)
                       + extra, runner, True,
                       lambda job, mr: [from_wire(value, lists=True) for _, value
                                        in job.parse_output(runner.read_output(mr))])
    if len(records) != shards:
        raise RuntimeError("pass produced %d records, expected %d" % (len(records), shards))
    return join_shards(records) if shards > 1 else records[0]


def run_packing(job_class, params, inputs, output_dir, runner, parts):
    """Run the summary pass ``job_class`` over text ``inputs`` and write the rows it parsed
    as packed blocks into ``parts`` part files of ``output_dir`` (see ``--pack-parts`` in
    :class:`jobs.base.BlockJob`); returns the pass's record, as :func:`run_pass` does."""
    record = run_partitioned(job_class, dict(params, parts=parts), inputs, output_dir, runner,
                             extra_args=["--pack-parts", str(parts)])
    return from_wire(record, lists=True)


def run_partitioned(job_class, params, inputs, output_dir, runner, check=None, extra_args=()):
    """Run a :class:`jobs.base.PartitionedOutputJob` into ``output_dir`` (which must not exist).

    Writes part files ``part-00000`` .. ``part-{N-1}`` (N = ``params["parts"]``), each
    holding exactly what the job sent to that part, and returns the job's summary record
    (read from part file N, which is then removed). ``check(summary)`` may raise to reject
    the result. On any failure, Ctrl-C included, ``output_dir`` is removed, so the same
    command can simply be run again.
    """
    reducers = params["parts"] + 1
    runner_args = ["--jobconf", "mapreduce.job.reduces=%d" % reducers] + list(extra_args)
    try:
        _execute(job_class,
                 lambda: job_args(runner, params, inputs, output_dir, reducers) + runner_args,
                 runner, True, lambda job, mr: None, lambda: hdfs_utils.remove(output_dir))
        summary_path = output_dir.rstrip("/") + "/part-%05d" % params["parts"]
        summary = json.loads(hdfs_utils.read_text(summary_path))
        hdfs_utils.remove(summary_path)
        if check:
            check(summary)
    except BaseException:
        hdfs_utils.remove(output_dir)
        raise
    return summary
