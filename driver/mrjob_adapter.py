"""Every use of mrjob's private API, for the one mrjob release it was written against.

mrjob 0.7.4 is the last release and unmaintained; ``pyproject.toml`` pins it and importing
this module refuses any other version, because each function here reaches into its
runners' internals:

- :func:`runner_for`: the runner class and keyword arguments a job would pick itself.
- :func:`one_split_per_mapper`: the local runner cuts one split per mapper, not two, and
  links a split that is a whole file instead of copying it.
- :func:`hash_partitioned`: the simulated runners give reducers the keys Hadoop's
  HashPartitioner would.
- :func:`staged`: Hadoop and EMR runners upload each local file a command ships (mrjob.zip,
  the ``jobs`` zip, job scripts, the setup wrapper, large pass parameters) once per
  command, content-addressed under one run directory, instead of every pass, twice.
- :func:`over_webhdfs`: the Hadoop runner's filesystem is :mod:`hdfs_utils.webhdfs`'s (HTTP
  where the cluster allows it), the streaming jar is looked up once per command, and each
  job's temp directory (its output) is in the run directory, removed with it at the end.
- :func:`s3_object`, :func:`s3_listing`, :func:`runner_option`, :func:`step_ids`: S3 keys,
  runner options and EMR step ids.
"""
import hashlib
import itertools
import os
import posixpath

import mrjob
from mrjob.fs.composite import CompositeFilesystem
from mrjob.fs.local import LocalFilesystem
from mrjob.setup import name_uniquely
from mrjob.parse import is_uri
from mrjob.cat import decompress, is_compressed
from mrjob.sim import _split_records

from driver.errors import MrlearnError
from jobs.partitioning import hadoop_partition

MRJOB_VERSION = "0.7.4"

if mrjob.__version__ != MRJOB_VERSION:
    raise MrlearnError("mrlearn needs mrjob %s (driver/mrjob_adapter.py patches its runners' "
                       "internals), not %s: pip install mrjob==%s"
                       % (MRJOB_VERSION, mrjob.__version__, MRJOB_VERSION))


def runner_for(job, wrap=lambda runner_class: runner_class):
    """An mrjob runner for ``job`` (use it as a context manager): the class the job picks,
    passed through ``wrap``, built with the job's own keyword arguments."""
    return wrap(job._runner_class())(**job._runner_kwargs())


def runner_option(runner, name):
    """An option of an mrjob runner as its conf files and switches set it."""
    return runner._opts[name]


def step_ids(mr):
    """EMR step ids an mrjob EMR runner submitted, in order ([] before any)."""
    return list(getattr(mr, "_step_ids", None) or [])


def s3_object(s3_filesystem, uri):
    """The boto3 ``Object`` of ``s3://bucket/key`` on mrjob's ``S3Filesystem``."""
    return s3_filesystem._get_s3_key(uri)


def s3_listing(s3_filesystem, prefix):
    """(uri, boto3 ObjectSummary) of every key under ``prefix`` on mrjob's ``S3Filesystem``."""
    return s3_filesystem._ls(prefix)


def hadoop_options(conf_path):
    """``(temp directory, hadoop binary)`` of the Hadoop runner under ``conf_path`` (None:
    no conf), read without a JVM: its ``hadoop_tmp_dir`` option fully qualified as mrjob
    does (``hdfs:///user/<user>/tmp/mrjob`` by default), and its ``hadoop_bin`` (a command
    list, or None: found as mrjob finds it)."""
    from mrjob.hadoop import HadoopJobRunner
    runner = HadoopJobRunner(conf_paths=[conf_path] if conf_path else [])
    return (posixpath.dirname(runner._hadoop_tmp_dir.rstrip("/")),
            runner._opts["hadoop_bin"] or None)


class Staging:
    """What one command has staged on the cluster's filesystem: under ``root`` (a URI
    ending in "/"), the URIs uploaded; whether any job was set up (``used``: then the root
    may hold something to remove); and the streaming jar found."""

    def __init__(self, root):
        self.root = root
        self.name = posixpath.basename(root.rstrip("/"))
        self.uploaded = set()
        self.used = False
        self.streaming_jar = None


class ContentAddressedUploads:
    """mrjob's ``UploadDirManager`` interface with a file's URI named by its content
    (``<prefix><sha1 of the bytes, 16 hex>-<name>``): the same bytes get the same URI in
    every pass, so they are uploaded once."""

    def __init__(self, prefix):
        self.prefix = prefix
        self._uris = {}

    def add(self, path):
        if is_uri(path):
            return path
        if path not in self._uris:
            with open(path, "rb") as f:
                digest = hashlib.sha1(f.read()).hexdigest()[:16]
            name = name_uniquely(path, names_taken=set(), unhide=True)
            self._uris[path] = "%s%s-%s" % (self.prefix, digest, name)
        return self._uris[path]

    uri = add

    def path_to_uri(self):
        return dict(self._uris)


def staged(runner_class, staging):
    """The Hadoop or EMR runner class ``runner_class`` uploading through ``staging``."""

    class StagedRunner(runner_class):
        def __init__(self, **kwargs):
            super(StagedRunner, self).__init__(**kwargs)
            staging.used = True
            self._upload_mgr = ContentAddressedUploads(staging.root + "files/")

        def _setup_cmd_content(self, setup):
            """mrjob's, with the setup lock named by the command instead of the job, so
            that every pass's setup wrapper is the same file, staged once."""
            job_lock, run_lock = "wrapper.lock." + self._job_key, "wrapper.lock." + staging.name
            return [line.replace(job_lock, run_lock) for line in
                    super(StagedRunner, self)._setup_cmd_content(setup)]

        def _dest_in_wd_mirror(self, path, name):
            return None if is_uri(path) else self._upload_mgr.add(path)

        def _copy_files_to_wd_mirror(self):
            """Nothing: :meth:`_upload_local_files` uploads the working directory's files."""

        def _upload_local_files(self):
            for kind in ("file", "archive_file"):
                for path in self._working_dir_mgr.name_to_path(kind).values():
                    self._upload_mgr.add(path)
            fresh = {path: uri for path, uri in self._upload_mgr.path_to_uri().items()
                     if uri not in staging.uploaded}
            if fresh and not staging.uploaded:
                self.fs.mkdir(self._upload_mgr.prefix)
            for path, uri in sorted(fresh.items()):
                self.fs.put(path, uri)
                staging.uploaded.add(uri)

    return StagedRunner


def over_webhdfs(runner_class, staging):
    """The Hadoop runner class with :func:`hdfs_utils.webhdfs.hadoop_filesystem` as its
    filesystem and the streaming jar searched for once per command."""
    from hdfs_utils.webhdfs import hadoop_filesystem

    class WebHdfsRunner(runner_class):
        def __init__(self, **kwargs):
            super(WebHdfsRunner, self).__init__(**kwargs)
            default_output = posixpath.join(self._hadoop_tmp_dir, "output")
            self._hadoop_tmp_dir = staging.root + "jobs/" + self._job_key
            if self._output_dir == default_output:
                self._output_dir = posixpath.join(self._hadoop_tmp_dir, "output")

        def _cleanup_hadoop_tmp(self):
            """Nothing: the job's temp directory is in the run directory, removed once
            when the command ends."""

        @property
        def fs(self):
            if self._fs is None:
                self._fs = CompositeFilesystem()
                self._fs.add_fs("hadoop", hadoop_filesystem(self._opts["hadoop_bin"]))
                self._fs.add_fs("local", LocalFilesystem())
            return self._fs

        def get_hadoop_streaming_jar(self):
            if staging.streaming_jar is None:
                staging.streaming_jar = super(WebHdfsRunner, self).get_hadoop_streaming_jar()
            return staging.streaming_jar

    return WebHdfsRunner


def hash_partitioned(sim_runner_class):
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


WHOLE_FILE_SPLITS = 1.5
"""The local runner makes a plain input file of at most this many split sizes one split."""


def one_split_per_mapper(local_runner_class):
    """The local runner cutting one input split per mapper (mrjob cuts two, hence two
    waves of task interpreters, 0.3-0.5 s each, per pass), as Hadoop makes about one per
    map slot, and linking a split that is a whole file into its task's input instead of
    copying it line by line (mrjob copies every input byte every pass: 10 s of a pass over
    1 GB of packed rows)."""

    class OneSplitPerMapperRunner(local_runner_class):
        def _pick_mapper_split_size(self, input_paths, step_num):
            """mrjob's rule (a compressed file is one split; the rest is cut evenly) aiming
            at one split per mapper instead of two."""
            plain = [p for p in input_paths if not is_compressed(p)]
            splits = max(self._num_mappers(step_num) - (len(input_paths) - len(plain)), 1)
            return max(1, -(-sum(os.path.getsize(p) for p in plain) // splits))

        def _split_mapper_input(self, input_paths, step_num):
            """mrjob's splits (dicts of ``file``, ``start``, ``length``), each file cut on its
            own: a plain file of at most :data:`WHOLE_FILE_SPLITS` split sizes is one split,
            linked; a larger one is cut into copies of about a split size; a compressed one
            is one split, decompressed."""
            input_paths = list(input_paths)
            if step_num == 0 and self._uses_input_manifest():
                return super()._split_mapper_input(input_paths, step_num)
            split_size = self._pick_mapper_split_size(input_paths, step_num)
            splits, task_inputs = [], self._task_inputs(step_num)
            for path in input_paths:
                size = os.path.getsize(path)
                if is_compressed(path):
                    with open(path, "rb") as src, open(next(task_inputs), "wb") as dest:
                        for chunk in decompress(src, path):
                            dest.write(chunk)
                    splits.append(dict(file=path, start=0, length=size))
                elif size <= WHOLE_FILE_SPLITS * split_size:
                    os.symlink(os.path.abspath(path), next(task_inputs))
                    splits.append(dict(file=path, start=0, length=size))
                else:
                    splits += _copied_splits(path, split_size, task_inputs)
            return splits

        def _task_inputs(self, step_num):
            for task_num in itertools.count():
                path = self._task_input_path("mapper", step_num, task_num)
                self.fs.mkdir(os.path.dirname(path))
                yield path

    return OneSplitPerMapperRunner


def _copied_splits(path, split_size, task_inputs):
    """Cut the plain file ``path`` at line ends into pieces of about ``split_size`` bytes,
    each copied to the next of ``task_inputs``; their splits, as mrjob's."""
    splits, start = [], 0
    with open(path, "rb") as src:
        for lines in _split_records(src, split_size):
            length = 0
            with open(next(task_inputs), "wb") as dest:
                for line in lines:
                    dest.write(line)
                    length += len(line)
            splits.append(dict(file=path, start=start, length=length))
            start += length
    return splits
