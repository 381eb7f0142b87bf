"""One file API over local paths, ``hdfs://`` and ``s3://`` URIs, on mrjob's filesystems.

Local paths get atomic writes (temp file + rename in the same directory). URIs are
served by mrjob's own ``HadoopFilesystem`` (through the ``hadoop`` binary) and
``S3Filesystem`` (through boto3); a URI write uploads a finished local temp file, so a
reader never sees a half-written object.
"""
import bz2
import gzip
import os
import tempfile

from mrjob.fs.local import LocalFilesystem

_LOCAL = LocalFilesystem()
_S3 = []  # the S3 filesystem in use, when a runner configured one (see use_s3)


def use_s3(s3_filesystem):
    """Serve ``s3://`` URIs with ``s3_filesystem`` (an mrjob ``S3Filesystem`` set up with
    a runner's endpoint, region and credentials) until ``use_s3(None)``."""
    _S3[:] = [s3_filesystem] if s3_filesystem is not None else []


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
        from mrjob.fs.hadoop import HadoopFilesystem
        return HadoopFilesystem()
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


def head_lines(path, max_lines):
    """The first ``max_lines`` lines of a file (decompressing .gz/.bz2), as str."""
    lines, tail = [], b""
    for chunk in filesystem(path).cat(local_path(path)):
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        lines.extend(p.rstrip(b"\r").decode("utf-8", "replace") for p in parts)
        if len(lines) >= max_lines:
            return lines[:max_lines]
    if tail:
        lines.append(tail.rstrip(b"\r").decode("utf-8", "replace"))
    return lines[:max_lines]


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
    """Write ``data`` to ``path`` atomically: a local rename, or one upload of a whole file.

    (HDFS has no rename through mrjob's filesystem: the old file is removed, then the
    complete new one uploaded.)
    """
    if is_uri(path):
        with tempfile.TemporaryDirectory() as tmp:
            staged = os.path.join(tmp, os.path.basename(path))
            with open(staged, "wb") as f:
                f.write(data)
            fs = filesystem(path)
            if fs.exists(path):
                fs.rm(path)
            else:
                fs.mkdir(path.rsplit("/", 1)[0])
            fs.put(staged, path)
        return
    path = local_path(path)
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


def remove(path):
    """Remove a file or directory tree; missing paths are fine."""
    fs = filesystem(path)
    if fs.exists(local_path(path)):
        fs.rm(local_path(path))
