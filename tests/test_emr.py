"""``-r emr`` against a local AWS: moto's server on 127.0.0.1 (S3, EMR, IAM, EC2), reached
through mrjob's endpoint options, with :class:`emr_steps.StepExecutor` running each
submitted step on real Hadoop streaming (S3A on the moto server). The conf is the shipped
``conf/mrjob.conf`` emr profile, included, with only endpoints, bucket, subnet and the
task Python overridden.

Marked ``emr``; needs the provisioned Hadoop (fails instead of skipping in CI).
"""
import json
import os
import types

import boto3
import numpy as np
import pytest
import yaml
from sklearn.datasets import make_blobs, make_classification

from conftest import fit, run_cli, theta_of, write_csv

pytestmark = pytest.mark.emr
REPO_CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "conf", "mrjob.conf")
BUCKET = "mrlearn-emr"
SUBNET = "subnet-0mrlearn"
SHIPPED = yaml.safe_load(open(REPO_CONF))["runners"]["emr"]


@pytest.fixture(scope="module")
def aws(hadoop_home, tmp_path_factory):
    """The moto server, a bucket and the step executor; AWS variables for this module."""
    from moto.server import ThreadedMotoServer

    from emr_steps import StepExecutor, fix_moto_applications

    with pytest.MonkeyPatch.context() as env:
        fix_moto_applications(env)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.delenv(key, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            endpoint = "http://%s:%d" % server.get_host_and_port()
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            emr = boto3.client("emr", endpoint_url=endpoint, region_name="us-east-1")
            with StepExecutor(hadoop_home, endpoint, str(tmp_path_factory.mktemp("emr-steps")),
                              s3) as executor:
                yield types.SimpleNamespace(endpoint=endpoint, s3=s3, emr=emr,
                                            executor=executor)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def conf(aws, task_python, tmp_path_factory):
    """The shipped emr profile with this machine's endpoints, bucket and task Python."""
    endpoints = {name + "_endpoint": aws.endpoint for name in ("emr", "s3", "iam", "ec2")}
    overrides = dict(endpoints, subnet=SUBNET, task_python_bin=task_python,
                     cloud_tmp_dir="s3://%s/tmp/" % BUCKET,
                     cloud_log_dir="s3://%s/logs/" % BUCKET, check_cluster_every=0.2)
    path = tmp_path_factory.mktemp("emr-conf") / "mrjob.conf"
    path.write_text(yaml.safe_dump({"include": REPO_CONF, "runners": {"emr": overrides}}))
    return str(path)


def _upload(aws, local_path, name):
    aws.s3.upload_file(local_path, BUCKET, "data/" + name)
    return "s3://%s/data/%s" % (BUCKET, name)


def _cluster_ids(aws):
    return {c["Id"] for c in aws.emr.list_clusters()["Clusters"]}


def _steps(aws, cluster_id):
    return aws.emr.list_steps(ClusterId=cluster_id)["Steps"]


@pytest.fixture(scope="module")
def logistic(tmp_path_factory):
    X, y = make_classification(n_samples=2000, n_features=5, n_informative=3, random_state=5)
    return write_csv(tmp_path_factory.mktemp("emr-data") / "logistic.csv", y, X)


def test_newton_on_emr_equals_inline_on_one_cluster_built_from_the_conf(aws, conf, logistic,
                                                                          tmp_path):
    data = _upload(aws, logistic, "logistic.csv")
    model = "s3://%s/models/logistic.json" % BUCKET
    before = _cluster_ids(aws)
    assert run_cli("train", "--algo", "logistic", "--l2", "1e-2", "--input", data,
                   "--model", model, "--checkpoint-dir", "s3://%s/ckpt" % BUCKET,
                   "-r", "emr", "--conf-path", conf, "-q") == 0
    trained = json.loads(aws.s3.get_object(Bucket=BUCKET, Key="models/logistic.json")["Body"]
                         .read())
    inline = fit("logistic", logistic, l2=1e-2)
    assert trained["n_passes"] == inline["n_passes"] <= 10
    np.testing.assert_allclose(theta_of(trained), theta_of(inline), rtol=1e-9, atol=1e-12)

    created = _cluster_ids(aws) - before
    assert len(created) == 1  # one cluster for the whole run, every pass a step on it
    cluster_id = created.pop()
    steps = _steps(aws, cluster_id)
    assert len(steps) == trained["n_passes"]
    assert {s["Status"]["State"] for s in steps} == {"COMPLETED"}
    cluster = aws.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    assert cluster["Status"]["State"] == "TERMINATED"  # ended with the command
    assert cluster["ReleaseLabel"] == SHIPPED["release_label"]
    assert cluster["Ec2InstanceAttributes"]["Ec2SubnetId"] == SUBNET
    assert cluster["ServiceRole"] == SHIPPED["iam_service_role"]
    assert cluster["Ec2InstanceAttributes"]["IamInstanceProfile"] == SHIPPED["iam_instance_profile"]
    assert cluster["LogUri"] == "s3://%s/logs/" % BUCKET
    assert {"Key": "project", "Value": "mrlearn"} in cluster["Tags"]
    assert SHIPPED["emr_configurations"][0] in [
        {"Classification": c["Classification"], "Properties": c["Properties"]}
        for c in cluster["Configurations"]]
    groups = {g["InstanceGroupType"]: g
              for g in aws.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]}
    assert groups["CORE"]["RequestedInstanceCount"] == SHIPPED["num_core_instances"]
    assert groups["CORE"]["InstanceType"] == SHIPPED["instance_type"]
    assert SHIPPED["bootstrap"] == ["sudo python3 -m pip install --quiet numpy==1.26.4"]
    assert any(SHIPPED["bootstrap"][0] in script  # mrjob's master bootstrap action
               for script in aws.executor.bootstrap_scripts[cluster_id])

    # server-side encryption on everything uploaded: code and parameters of every step,
    # the checkpoint and the model
    encryption = [aws.executor.files_encryption[s["Id"]] for s in steps]
    assert all(len(files) >= 3 for files in encryption)
    # the code is staged once for the command: every step ships the same S3 objects
    assert all(set(files) == set(encryption[0]) for files in encryption)
    assert {sse for files in encryption for sse in files.values()} == {"AES256"}
    for key in ("models/logistic.json", "ckpt/checkpoint.json"):
        assert aws.s3.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"


def test_kmeans_and_predict_on_an_existing_cluster_create_none(aws, conf, tmp_path):
    X, _ = make_blobs(n_samples=2000, n_features=3, centers=3, cluster_std=0.6, random_state=4)
    local = str(tmp_path / "blobs.csv")
    np.savetxt(local, X, delimiter=",", fmt="%.17g")
    data = _upload(aws, local, "blobs.csv")
    cluster_id = aws.emr.run_job_flow(
        Name="shared", ReleaseLabel=SHIPPED["release_label"], ServiceRole="EMR_DefaultRole",
        JobFlowRole="EMR_EC2_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    before = _cluster_ids(aws)
    model = str(tmp_path / "kmeans.json")
    assert run_cli("train", "--algo", "kmeans", "--k", "3", "--n-init", "2", "--input", data,
                   "--model", model, "-r", "emr", "--conf-path", conf,
                   "--cluster-id", cluster_id, "-q") == 0
    assert _cluster_ids(aws) == before
    trained = json.load(open(model))
    inline = fit("kmeans", local, k=3, n_init=2)
    assert trained["n_passes"] == inline["n_passes"] == len(_steps(aws, cluster_id))
    np.testing.assert_allclose(trained["cluster_centers"], inline["cluster_centers"], rtol=1e-9)

    # predict on the same cluster: part 0 is the input file's rows, in order
    assert run_cli("predict", "--model", model, "--input", data, "-r", "emr", "--conf-path",
                   conf, "--cluster-id", cluster_id, "--output",
                   "s3://%s/predictions/blobs" % BUCKET) == 0
    lines = aws.s3.get_object(Bucket=BUCKET, Key="predictions/blobs/part-00000")["Body"].read()
    predicted = np.array([line.split(",") for line in lines.decode().split()], dtype=float)
    centers = np.array(trained["cluster_centers"])
    distances = np.linalg.norm(X[:, None, :] - centers[None], axis=2)
    np.testing.assert_array_equal(predicted[:, 0], distances.argmin(axis=1))
    np.testing.assert_allclose(predicted[:, 1], distances.min(axis=1), rtol=1e-9)
    assert _cluster_ids(aws) == before
    state = aws.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state == "WAITING"  # not ours to terminate


def test_a_failing_step_is_one_error_and_the_checkpoint_survives(aws, conf, logistic, tmp_path,
                                                                 capsys):
    data = _upload(aws, logistic, "logistic-fail.csv")
    checkpoint = tmp_path / "ckpt"
    argv = ["train", "--algo", "logistic", "--l2", "1e-2", "--input", data, "-r", "emr",
            "--conf-path", conf, "--model", str(tmp_path / "m.json"),
            "--checkpoint-dir", str(checkpoint), "-q"]
    assert run_cli(*(argv + ["--max-iter", "2"])) == 0
    saved = (checkpoint / "checkpoint.json").read_bytes()
    before = _cluster_ids(aws)
    capsys.readouterr()
    assert run_cli(*(argv + ["--resume", "--jobconf", "mrlearn.test.fail.attempts=all"])) == 2
    err = capsys.readouterr().err
    (cluster_id,) = _cluster_ids(aws) - before
    (step,) = _steps(aws, cluster_id)
    assert step["Status"]["State"] == "FAILED"
    assert "injected failure" in aws.executor.step_log(step["Id"])
    message = [line for line in err.splitlines() if line.startswith("mrlearn: error:")]
    assert message == ["mrlearn: error: MRObjectivePass failed on the emr runner (Step 1 of 1 "
                       "failed); step %s on cluster %s; its logs reach s3://%s/logs/%s/steps/"
                       "%s/ within minutes" % (step["Id"], cluster_id, BUCKET, cluster_id,
                                               step["Id"])]
    assert (checkpoint / "checkpoint.json").read_bytes() == saved
    state = aws.emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state == "TERMINATED"


def test_local_paths_are_refused_on_emr(aws, conf, logistic, tmp_path, capsys):
    assert run_cli("train", "--algo", "logistic", "--input", logistic, "--model",
                   str(tmp_path / "m.json"), "-r", "emr", "--conf-path", conf) == 2
    assert "copy it to s3:// first" in capsys.readouterr().err
