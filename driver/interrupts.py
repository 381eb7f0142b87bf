"""Ctrl-C: every command ends with exit 130, its outputs as they were, and no traceback.

The CLI installs :func:`catch_ctrl_c`. SIGINT then sets :data:`INTERRUPTED` and raises
KeyboardInterrupt, except inside :func:`deferred` sections: there Python could swallow the
exception (a fork hook of the local runner's process pool prints "Exception ignored" and
goes on) or leave the pool hanging, so the handler only sets the flag. A terminal's Ctrl-C
reaches the pass's task processes too, which fail the pass at once; the driver turns that
failure, or the end of the pass, into KeyboardInterrupt (:func:`raise_if_interrupted`).
"""
import contextlib
import logging
import signal
import threading

INTERRUPTED = threading.Event()
_DEFERRING = []
RUNNER_LOGGERS = ("mrjob.sim", "mrjob.inline", "mrjob.local", "mrjob.hadoop", "mrjob.emr")
"""Where mrjob reports a failed task: after Ctrl-C, that is the task's own KeyboardInterrupt
traceback, not news, so it is not shown."""


def _not_interrupted(record):
    return not INTERRUPTED.is_set()


def catch_ctrl_c():
    """Install the SIGINT handler; returns a function restoring the previous one."""
    def on_interrupt(signum, frame):
        INTERRUPTED.set()
        if not _DEFERRING:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: handlers cannot be set there
        return INTERRUPTED.clear
    for name in RUNNER_LOGGERS:
        logging.getLogger(name).addFilter(_not_interrupted)

    def restore():
        signal.signal(signal.SIGINT, previous)
        for name in RUNNER_LOGGERS:
            logging.getLogger(name).removeFilter(_not_interrupted)
        INTERRUPTED.clear()

    return restore


@contextlib.contextmanager
def deferred(active=True):
    """While ``active``, SIGINT only sets :data:`INTERRUPTED` (see the module docstring)."""
    if active:
        _DEFERRING.append(True)
    try:
        yield
    finally:
        if active:
            _DEFERRING.pop()


def raise_if_interrupted():
    """Raise KeyboardInterrupt when Ctrl-C was pressed since the command started."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt
