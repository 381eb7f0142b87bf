"""Where a command writes: every output location is checked before the first pass.

A refusal after forty minutes of passes is lost work, and an output written over the input
is lost data. So before any pass, each output a command will write (``--model``,
``--checkpoint-dir``, ``--output``) must be usable: not an input file nor a directory
holding one, not a directory where a file goes (or a file where a directory goes), not
below an existing file, and, for local paths, in a place this user may write. The array
file a large model is written with (:func:`driver.model.arrays_path`) is checked as well.
"""
import os

import hdfs_utils
from driver.errors import MrlearnError
from driver.model import arrays_path


def _normalized(path):
    """A comparable form of ``path``: absolute local path, or the URI without a trailing /."""
    if hdfs_utils.is_uri(path):
        return path.rstrip("/")
    return os.path.abspath(hdfs_utils.local_path(path))


def _inside(inner, outer):
    """True when normalized ``inner`` is ``outer`` or lies below it."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def check_outputs(inputs, model=None, checkpoint_dir=None, output_dir=None, plot=None):
    """Refuse (MrlearnError) outputs that would overwrite inputs or cannot be written.

    ``inputs``: the input paths as given (files, directories, globs); ``model``: a file to
    write; ``checkpoint_dir``: a directory to write into (it may exist); ``output_dir``: a
    directory to create (it must not exist); ``plot``: a local PNG file to write.
    """
    models = [model] if model else list(inputs)  # mrlearn plot reads the model it draws
    if plot and ("://" in plot or _normalized(plot) in [
            _normalized(p) for m in models for p in (m, arrays_path(m))]):
        raise MrlearnError("--plot %s: give a local PNG file apart from --model and its "
                           "array file" % plot)
    try:
        files = [_normalized(p) for p in hdfs_utils.expand(inputs)]
    except FileNotFoundError as e:
        raise MrlearnError("input %s matches no file; check --input" % e.args[0])
    outputs = [(option, path) for option, path in (
        ("--model", model), ("the array file of --model", model and arrays_path(model)),
        ("--checkpoint-dir", checkpoint_dir), ("--output", output_dir), ("--plot", plot))
        if path]
    for option, path in outputs:
        clash = next((f for f in files if _inside(f, _normalized(path))), None)
        if clash:
            raise MrlearnError("%s %s %s the input %s; write it somewhere else"
                               % (option, path, "is" if clash == _normalized(path) else
                                  "contains", clash))
        _check_parent(option, path)
    for option, path in (("--model", model), ("--plot", plot)):
        if path:
            _check_file_location(option, path)
    if checkpoint_dir and hdfs_utils.exists(checkpoint_dir) and not _is_dir(checkpoint_dir):
        raise MrlearnError("--checkpoint-dir %s is a file; give a directory (it is created "
                           "if missing)" % checkpoint_dir)
    if output_dir and hdfs_utils.exists(output_dir):
        raise MrlearnError("--output %s already exists; choose a new --output or remove it"
                           % output_dir)


def _check_file_location(option, path):
    if path.endswith("/"):
        raise MrlearnError("%s %s ends in /; give a file name such as %smodel.json"
                           % (option, path, path))
    if hdfs_utils.exists(path) and _is_dir(path):
        raise MrlearnError("%s %s is a directory; give a file name such as %s/model.json"
                           % (option, path, path.rstrip("/")))
    if option == "--model" and hdfs_utils.exists(arrays_path(path)) and _is_dir(
            arrays_path(path)):
        raise MrlearnError("--model %s: its array file %s is a directory; remove it or "
                           "choose another --model" % (path, arrays_path(path)))


def _is_dir(path):
    if not hdfs_utils.is_uri(path):
        return os.path.isdir(hdfs_utils.local_path(path))
    return [p.rstrip("/") for p in hdfs_utils.ls(path)] != [path.rstrip("/")]


def _check_parent(option, path):
    """A local path must lie below directories (not files) that this user can write to."""
    if hdfs_utils.is_uri(path):
        return
    parent = os.path.dirname(_normalized(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise MrlearnError("%s %s lies below %s, which is a file; choose another location"
                           % (option, path, parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MrlearnError("%s %s: cannot write in %s (permission denied); choose another "
                           "location" % (option, path, parent))
