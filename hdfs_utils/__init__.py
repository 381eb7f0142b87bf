"""One file API over local paths, ``hdfs://`` and ``s3://`` URIs, on mrjob's filesystems.

``hdfs://`` URIs are served over WebHDFS where the cluster allows it, else by mrjob's
``HadoopFilesystem`` (through the ``hadoop`` binary) (see :mod:`hdfs_utils.webhdfs`);
``s3://`` URIs by mrjob's ``S3Filesystem`` (through boto3). Writes replace a file whole, never by delete-then-put
(:func:`write_bytes` states the guarantee on each filesystem).
"""
import bz2
import gzip
import os
import tempfile

from mrjob.fs.local import LocalFilesystem

_LOCAL = LocalFilesystem()
_S3 = []  # the S3 filesystem in use, when a runner configured one (see use_s3)
_HADOOP_BIN = [None]  # the hadoop binary of the runner in use (see use_hadoop_bin)


def use_s3(s3_filesystem):
    """Serve ``s3://`` URIs with ``s3_filesystem`` (an mrjob ``S3Filesystem`` set up with
    a runner's endpoint, region and credentials) until ``use_s3(None)``."""
    _S3[:] = [s3_filesystem] if s3_filesystem is not None else []


def use_hadoop_bin(hadoop_bin):
    """Serve Hadoop URIs through ``hadoop_bin`` (a command list: a runner's ``hadoop_bin``
    option) where the CLI serves them, until ``use_hadoop_bin(None)`` (found as mrjob
    finds it)."""
    _HADOOP_BIN[0] = hadoop_bin


def is_uri(path):
    """True for ``scheme://...`` paths (``hdfs://``, ``s3://``); False for local paths."""
    return "://" in path and not path.startswith("file://")


def local_path(path):
    """Strip a ``file://`` prefix."""
    return path[len("file://"):] if path.startswith("file://") else path


def filesystem(path):
    """The mrjob filesystem object that serves ``path``."""
    if not is_uri(path):
        return _LOCAL
    scheme = path.split("://", 1)[0]
    if scheme in ("hdfs", "viewfs"):
        from hdfs_utils.webhdfs import hadoop_filesystem
        return hadoop_filesystem(_HADOOP_BIN[0])
    if scheme in ("s3", "s3a", "s3n"):
        if _S3:
            return _S3[0]
        from mrjob.fs.s3 import S3Filesystem
        return S3Filesystem()
    raise ValueError("unsupported URI scheme %r in %s; use a local path, hdfs:// or s3://"
                     % (scheme, path))


def expand(path_globs):
    """Data files matched by each path, directory or glob, in order, without duplicates.

    Files whose names start with ``_`` or ``.`` (``_SUCCESS``, sidecars) are not data, as
    in Hadoop. Raises FileNotFoundError naming the first pattern that matches no file.
    """
    files = []
    for pattern in path_globs:
        matched = sorted(p if is_uri(p) else os.path.abspath(p) for p in ls(pattern)
                         if not os.path.basename(p.rstrip("/")).startswith(("_", ".")))
        if not matched:
            raise FileNotFoundError(pattern)
        files.extend(p for p in matched if p not in files)
    return files


def exists(path):
    """True when ``path`` (a file, directory or glob) matches anything."""
    return filesystem(path).exists(local_path(path))


def ls(path_glob):
    """Every file under ``path_glob`` (a file, directory or glob), sorted; [] if none."""
    return sorted(filesystem(path_glob).ls(local_path(path_glob)))


def size(path_glob):
    """Total size in bytes of the files under ``path_glob``."""
    return filesystem(path_glob).du(local_path(path_glob))


def mkdir(path):
    """Create a directory and its parents (a no-op where directories are implicit)."""
    filesystem(path).mkdir(local_path(path))


def put(local_src, path):
    """Copy the local file ``local_src`` to ``path`` (any filesystem)."""
    if is_uri(path):
        filesystem(path).put(local_src, path)
    else:
        with open(local_src, "rb") as f:
            write_bytes(path, f.read())


def get(path, local_dest):
    """Copy the file ``path`` (any filesystem, decompressing nothing) to ``local_dest``."""
    with open(local_dest, "wb") as out:
        out.write(read_bytes(path))


def head_lines(path, max_lines, max_bytes=None):
    """The first ``max_lines`` lines of a file (decompressing .gz/.bz2), as str; with
    ``max_bytes``, fewer once that many bytes are read and a line is complete (the lines of
    packed input are blocks of megabytes)."""
    lines, tail, read = [], b"", 0
    for chunk in filesystem(path).cat(local_path(path)):
        read += len(chunk)
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        lines.extend(p.rstrip(b"\r").decode("utf-8", "replace") for p in parts)
        if len(lines) >= max_lines or (lines and max_bytes and read >= max_bytes):
            return lines[:max_lines]
    if tail:
        lines.append(tail.rstrip(b"\r").decode("utf-8", "replace"))
    return lines[:max_lines]


def cat_parts(directory):
    """The bytes of a job's output files ``directory/part-*``, in order: through the CLI
    one ``hadoop fs -cat`` for all (mrjob would ``-ls`` first, a JVM more), else as each
    filesystem reads them."""
    glob = directory.rstrip("/") + "/part-*"
    fs = filesystem(glob)
    if is_uri(glob) and hasattr(fs, "invoke_hadoop") and not _over_http(glob):
        return [fs.invoke_hadoop(["fs", "-cat", glob], return_stdout=True)]
    return list(fs.cat(local_path(glob)))


def check_compressed(path):
    """Read a local .gz/.bz2 file to its end; raise EOFError/OSError if it is truncated."""
    if is_uri(path) or not path.endswith((".gz", ".bz2")):
        return
    opener = gzip.open if path.endswith(".gz") else bz2.open
    with opener(local_path(path), "rb") as f:
        while f.read(1 << 22):
            pass


def read_bytes(path):
    """Whole content of one file; FileNotFoundError if there is none."""
    fs = filesystem(path)
    if not fs.exists(local_path(path)):
        raise FileNotFoundError(path)
    if not is_uri(path):
        with open(local_path(path), "rb") as f:
            return f.read()
    return b"".join(fs.cat(path))


def read_text(path):
    """Whole content of a file as str (UTF-8); FileNotFoundError if there is none."""
    return read_bytes(path).decode("utf-8")


def write_text(path, text):
    """Write ``text`` to ``path`` so readers see the old content or the new, never a mix."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path, data):
    """Write ``data`` to ``path`` so that a reader finds the old content or the new, whole.

    Local: a temp file in the same directory, fsync, ``os.replace``. ``s3://``: one PUT,
    which replaces the object atomically (no delete, no existence check). ``hdfs://``: one
    ``hadoop fs -put -f`` (one JVM start; three when the parent directory must be created
    first), in which Hadoop uploads ``<path>._COPYING_``, then deletes ``<path>`` and
    renames the upload to it, two namenode calls apart. A crash while uploading leaves the
    old ``<path>`` (and perhaps a partial ``._COPYING_``); a crash between the delete and
    the rename leaves the new content whole under ``<path>._COPYING_`` only (see
    :func:`interrupted_upload`); only a SIGINT/SIGTERM to the ``hadoop`` JVM in that same
    instant loses both, since its exit hook deletes the ``._COPYING_``.
    """
    if path.startswith(("s3://", "s3a://", "s3n://")):
        _put_s3(filesystem(path), path, data)
    elif _over_http(path):
        filesystem(path).write_atomic(path, data)
    elif is_uri(path):
        with tempfile.TemporaryDirectory() as tmp:
            staged = os.path.join(tmp, os.path.basename(path))
            with open(staged, "wb") as f:
                f.write(data)
            _put_hdfs(filesystem(path), staged, path)
    else:
        _write_local(local_path(path), data)


def _over_http(uri):
    """True when ``uri`` is served over WebHDFS (see :mod:`hdfs_utils.webhdfs`)."""
    from hdfs_utils.webhdfs import WebHdfsFilesystem
    fs = filesystem(uri)
    return isinstance(fs, WebHdfsFilesystem) and fs.over_http(uri)


def interrupted_upload(path):
    """Where an interrupted ``hadoop fs -put`` of ``path`` leaves its (maybe partial) upload."""
    return path + "._COPYING_"


def _put_s3(fs, path, data):
    """One PutObject; creates the bucket (as :func:`mkdir` does) only if it is missing."""
    import botocore.exceptions
    from driver.mrjob_adapter import s3_object
    try:
        s3_object(fs, path).put(Body=data)
    except botocore.exceptions.ClientError as e:
        if e.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
        fs.mkdir(path)
        s3_object(fs, path).put(Body=data)


def _put_hdfs(fs, staged, path):
    """``hadoop fs -put -f``; on failure (no parent directory) ``-mkdir -p`` and once again."""
    from subprocess import CalledProcessError
    put = ["fs", "-put", "-f", staged, path]
    try:
        fs.invoke_hadoop(put)
    except CalledProcessError:
        fs.invoke_hadoop(["fs", "-mkdir", "-p", path.rsplit("/", 1)[0]])
        try:
            fs.invoke_hadoop(put)
        except CalledProcessError:
            raise IOError("could not write %s" % path)


def _write_local(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, staged = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o666 & ~umask)
        os.replace(staged, path)
    except BaseException:
        if os.path.exists(staged):
            os.remove(staged)
        raise


def fingerprint(paths):
    """``[[path, size, version], ...]`` of the files ``paths``, in order, read cheaply.

    ``version`` changes when a file is rewritten: the modification time in ns (local,
    ``os.stat``), in ms (HDFS, one ``hadoop fs -stat`` for all files) or the ETag (S3,
    one listing per directory).
    """
    found = {}
    hdfs = [p for p in paths if is_uri(p) and not p.startswith(("s3://", "s3a://", "s3n://"))]
    s3 = [p for p in paths if is_uri(p) and p not in hdfs]
    if hdfs:
        found.update(_stat_hdfs(filesystem(hdfs[0]), hdfs))
    for directory in sorted({p.rsplit("/", 1)[0] for p in s3}):
        from driver.mrjob_adapter import s3_listing
        found.update((uri, [key.size, key.e_tag])
                     for uri, key in s3_listing(filesystem(directory), directory + "/"))
    for p in paths:
        if not is_uri(p):
            st = os.stat(local_path(p))
            found[p] = [st.st_size, st.st_mtime_ns]
    return [[p] + found.get(p, [None, None]) for p in paths]


def _stat_hdfs(fs, paths):
    """{path: [size, mtime in ms]}: over WebHDFS a request per file, else one
    ``hadoop fs -stat '%b %Y %n' paths...``."""
    if all(_over_http(p) for p in paths):
        return {p: list(fs.stat(p)) for p in paths}
    out = fs.invoke_hadoop(["fs", "-stat", "%b %Y %n"] + list(paths), return_stdout=True)
    lines = out.decode("utf-8").splitlines()
    stats = [line.split(" ", 2) for line in lines if line.strip()]
    names = [p.rsplit("/", 1)[-1] for p in paths]
    if [stat[2:] for stat in stats] != [[name] for name in names]:
        raise IOError("unexpected output from hadoop fs -stat: %r" % out[:200])
    return {p: [int(size), int(mtime)] for p, (size, mtime, _) in zip(paths, stats)}


def remove(path):
    """Remove a file or directory tree; missing paths are fine."""
    fs = filesystem(path)
    if fs.exists(local_path(path)):
        fs.rm(local_path(path))
