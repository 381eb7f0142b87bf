"""Running the commands the benchmarks time (mrlearn, Spark) as subprocesses."""
import os
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mrlearn_command(*args):
    """argv running ``mrlearn ARGS`` with this interpreter (the console script's entry point)."""
    return [sys.executable, "-m", "driver.cli"] + [str(a) for a in args]


def run_timed(argv):
    """Run ``argv`` from the repository root; ``(wall seconds, its standard output)``.

    When it fails, its output is written to stderr and CalledProcessError raised.
    """
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        done.check_returncode()
    return seconds, done.stdout
