"""Amazon EMR for one mrlearn command: one cluster, S3 settings and encryption from the conf.

Every pass of a command is one step on the same cluster. :class:`EmrCluster` creates that
cluster on first use from the ``emr`` profile of the mrjob conf (release label, bootstrap,
instances, spot bids, subnet, tags, log URI, IAM roles) or joins the one given by
``--cluster-id``; :meth:`EmrCluster.close` terminates a cluster it created unless asked to
keep it. While open it also points :mod:`hdfs_utils` at the conf's S3 endpoint and
credentials and asks S3 to encrypt every object the driver or mrjob uploads, with the
same setting the cluster's EMRFS uses for what the steps write.

Credentials are never read from or written to any file of ours: boto3's usual chain
(environment, ``~/.aws``, instance role) supplies them, unless the user's own conf has them.
"""
import logging

import boto3

import hdfs_utils
from driver.errors import MrlearnError
from driver.mrjob_adapter import runner_option

log = logging.getLogger(__name__)

EMRFS_SSE = "fs.s3.enableServerSideEncryption"
EMRFS_KMS_KEY = "fs.s3.serverSideEncryption.kms.keyId"
UPLOAD_OPERATIONS = ("PutObject", "CreateMultipartUpload", "CopyObject")
_HOOK_ID = "mrlearn-s3-server-side-encryption"


def server_side_encryption(emr_configurations):
    """S3 request parameters matching the conf's EMRFS encryption setting.

    ``emr_configurations``: the mrjob option (a list of EMR configuration dicts). Returns
    ``{}`` (no encryption asked), ``{"ServerSideEncryption": "AES256"}`` (SSE-S3) or
    ``{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}`` (SSE-KMS).
    """
    properties = {}
    for configuration in emr_configurations or []:
        if configuration.get("Classification") == "emrfs-site":
            properties.update(configuration.get("Properties") or {})
    if str(properties.get(EMRFS_SSE, "false")).lower() != "true":
        return {}
    if properties.get(EMRFS_KMS_KEY):
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": properties[EMRFS_KMS_KEY]}
    return {"ServerSideEncryption": "AES256"}


class EmrCluster:
    """The EMR cluster one command's passes run on (a context for the S3 settings too).

    ``conf_path``: mrjob conf with an ``emr`` profile. ``cluster_id``: run on this existing
    cluster (never created or terminated here). ``keep``: leave a created cluster running.
    """

    def __init__(self, conf_path, cluster_id=None, keep=False):
        from mrjob.emr import EMRJobRunner

        if not conf_path:
            raise MrlearnError("-r emr needs --conf-path with an emr profile (see "
                               "conf/mrjob.conf and the README's 'Run on EMR')")
        self._emr = EMRJobRunner(conf_paths=[conf_path], label="mrlearn")
        self.given_id = cluster_id
        self.keep = keep
        self._created_id = None
        self.sse = server_side_encryption(runner_option(self._emr, "emr_configurations"))
        hdfs_utils.use_s3(self._emr.fs.s3)
        self._set_upload_hook(self._add_sse)

    def cluster_id(self):
        """The cluster's id, creating the cluster on first call (takes EMR minutes)."""
        if self.given_id:
            return self.given_id
        if self._created_id is None:
            self._created_id = self._emr.make_persistent_cluster()
            log.info("created EMR cluster %s; every pass is one step on it; it is "
                     "%s when this command ends", self._created_id,
                     "kept running (--keep-cluster)" if self.keep else "terminated")
        return self._created_id

    def temp_dir(self):
        """The S3 temp directory mrjob uses (its ``cloud_tmp_dir``), ending in "/"."""
        return runner_option(self._emr, "cloud_tmp_dir").rstrip("/") + "/"

    def log_dir(self, step_id):
        """Where EMR copies the logs of ``step_id`` (minutes after it ends), or None."""
        log_uri = runner_option(self._emr, "cloud_log_dir")
        if not log_uri:
            return None
        return "%s/%s/steps/%s/" % (log_uri.rstrip("/"), self.cluster_id(), step_id)

    def close(self):
        """Terminate a cluster created here (unless kept) and undo the S3 settings."""
        try:
            if self._created_id and self.keep:
                log.info("EMR cluster %s keeps running; reuse it with --cluster-id %s, "
                         "stop it with: aws emr terminate-clusters --cluster-ids %s",
                         self._created_id, self._created_id, self._created_id)
            elif self._created_id:
                # terminates it and removes its bootstrap files; its logs stay
                self._emr.cleanup(mode=["TMP"])
        finally:
            self._set_upload_hook(None)
            hdfs_utils.use_s3(None)

    def _add_sse(self, params, **_):
        for key, value in self.sse.items():
            params.setdefault(key, value)

    def _set_upload_hook(self, handler):
        """Register ``handler`` on every S3 upload request of boto3's default session (used
        by mrjob and by hdfs_utils), or unregister it when ``handler`` is None."""
        if not self.sse:
            return
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events
        for operation in UPLOAD_OPERATIONS:
            name = "before-parameter-build.s3." + operation
            if handler is None:
                events.unregister(name, unique_id=_HOOK_ID)
            else:
                events.register(name, handler, unique_id=_HOOK_ID)
