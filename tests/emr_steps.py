"""A local stand-in for EMR's step runner, for moto's EMR (which never runs a step).

:class:`StepExecutor` watches the clusters of moto's EMR backend (the moto server runs in
this process) and executes each submitted ``command-runner.jar hadoop-streaming ...``
step for real: the step's own arguments go to the provisioned Hadoop streaming jar in
local mode, whose S3A connector reads inputs and ``-files`` from, and writes output to,
the step's ``s3://`` locations on the moto server. The step then ends COMPLETED, or
FAILED when Hadoop exits non-zero, as EMR would report it. Steps of a cluster run one at a
time in submission order; every wait is bounded.
"""
import glob
import os
import subprocess
import threading

from moto.core.utils import utcnow
from moto.emr.models import Cluster, emr_backends

STEP_TIMEOUT_SECONDS = 600
POLL_SECONDS = 0.1


def fix_moto_applications(monkeypatch):
    """moto 5 files a cluster's ``Applications`` under lowercase keys it never receives
    (the API sends ``Name``/``Version``), so it describes them without a ``Name``, which
    mrjob needs; give it the keys it reads."""
    add_applications = Cluster.add_applications

    def with_lowercase_keys(self, applications):
        add_applications(self, [{key.lower(): value for key, value in app.items()}
                                for app in applications])

    monkeypatch.setattr(Cluster, "add_applications", with_lowercase_keys)


def s3a_options(endpoint):
    """Hadoop ``-D`` options pointing ``s3://`` at S3A on a moto ``endpoint`` URL."""
    settings = {
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",  # EMRFS's scheme, S3A's code
        "fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": "us-east-1",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.aws.credentials.provider":
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
        "fs.s3a.change.detection.mode": "none",
        "fs.s3a.bucket.probe": "0",
    }
    return [arg for key, value in sorted(settings.items()) for arg in ("-D", "%s=%s" % (key, value))]


class StepExecutor:
    """Runs moto EMR steps with real Hadoop streaming; use as a context manager.

    ``hadoop_home``: the provisioned HADOOP_HOME; ``endpoint``: the moto server URL;
    ``workdir``: scratch for each step's working directory and log; ``s3_client``: boto3
    client of the moto server. ``executed`` lists
    ``(cluster id, step id, final state)`` in execution order.
    """

    def __init__(self, hadoop_home, endpoint, workdir, s3_client):
        self.hadoop = os.path.join(hadoop_home, "bin", "hadoop")
        jars = glob.glob(os.path.join(hadoop_home, "share/hadoop/tools/lib/hadoop-streaming-*.jar"))
        assert len(jars) == 1, jars
        self.streaming_jar = jars[0]
        self.endpoint = endpoint
        self.s3 = s3_client
        self.workdir = workdir
        self.executed = []
        self.bootstrap_scripts = {}
        """cluster id -> text of each bootstrap action's script, read when first seen"""
        self.files_encryption = {}
        """step id -> {s3 URI of each ``-files`` entry: its ServerSideEncryption or None}"""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=STEP_TIMEOUT_SECONDS + 30)

    def _loop(self):
        while not self._stop.wait(POLL_SECONDS):
            for cluster, step in self._waiting_steps():
                self._execute(cluster, step)

    def _waiting_steps(self):
        """The oldest not yet executed step of every live cluster."""
        done = {step_id for _, step_id, _ in self.executed}
        for regions in list(emr_backends.values()):
            for backend in list(regions.values()):
                for cluster in list(backend.clusters.values()):
                    if cluster.state.startswith("TERMINAT"):
                        continue
                    if cluster.id not in self.bootstrap_scripts:
                        self.bootstrap_scripts[cluster.id] = [
                            self._read(action.script_path) for action in cluster.bootstrap_actions]
                    waiting = [s for s in cluster.steps if s.id not in done]
                    if waiting:
                        yield cluster, waiting[0]

    def _execute(self, cluster, step):
        step.state, step.start_date_time = "RUNNING", utcnow()
        self.files_encryption[step.id] = self._files_encryption(step.args)
        cluster.state = "RUNNING"
        state = "COMPLETED" if self._run_streaming(step) else "FAILED"
        step.state, step.end_date_time = state, utcnow()
        cluster.state = "WAITING"
        self.executed.append((cluster.id, step.id, state))

    def _run_streaming(self, step):
        """Run the step's hadoop-streaming arguments; True when Hadoop exits 0."""
        assert step.jar == "command-runner.jar" and step.args[0] == "hadoop-streaming", \
            (step.jar, step.args[:1])
        cwd = os.path.join(self.workdir, step.id)
        os.makedirs(cwd)
        env = dict(os.environ, HADOOP_OPTIONAL_TOOLS="hadoop-aws")
        env.pop("HADOOP_CONF_DIR", None)  # local mode: LocalJobRunner, file:/// default FS
        command = ([self.hadoop, "jar", self.streaming_jar] + s3a_options(self.endpoint)
                   + list(step.args[1:]))
        with open(os.path.join(cwd, "step.log"), "w") as log:
            try:
                return subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=log,
                                      timeout=STEP_TIMEOUT_SECONDS).returncode == 0
            except subprocess.TimeoutExpired:
                return False

    def _files_encryption(self, args):
        uris = [entry.split("#")[0] for flag, value in zip(args, args[1:]) if flag == "-files"
                for entry in value.split(",")]
        return {uri: self.s3.head_object(**_bucket_key(uri)).get("ServerSideEncryption")
                for uri in uris if uri.startswith("s3://")}

    def _read(self, uri):
        return self.s3.get_object(**_bucket_key(uri))["Body"].read().decode("utf-8", "replace")

    def step_log(self, step_id):
        """Text of Hadoop's output for an executed step."""
        with open(os.path.join(self.workdir, step_id, "step.log")) as f:
            return f.read()


def _bucket_key(uri):
    bucket, key = uri[len("s3://"):].split("/", 1)
    return {"Bucket": bucket, "Key": key}
