"""HDFS through the NameNode's HTTP interface (WebHDFS), so that a file operation costs one
HTTP request instead of a ``hadoop`` client JVM (0.7-2.5 s each).

:func:`hadoop_filesystem` picks, once per client configuration, :class:`WebHdfsFilesystem`
when the configuration allows it and the NameNode answers, and mrjob's CLI
``HadoopFilesystem`` otherwise: a Kerberos (SPNEGO) cluster, HTTPS-only HTTP policy, WebHDFS
disabled, or an HTTP address that does not answer within :data:`PROBE_SECONDS`.

The client configuration is Hadoop's: ``$HADOOP_CONF_DIR`` (else
``$HADOOP_HOME/etc/hadoop``, else ``/etc/hadoop/conf``), ``core-site.xml`` for
``fs.defaultFS`` and ``hadoop.security.authentication``, ``hdfs-site.xml`` for
``dfs.namenode.http-address`` (with HA, each NameNode's; the active one answers). Requests
carry ``user.name`` = ``$HADOOP_USER_NAME`` or the login name, as the CLI's simple auth.
Only URIs of the default filesystem (``hdfs:///p`` or its own authority) go over HTTP;
others (another authority, ``viewfs://``, ``s3a://``) go to the CLI, through the same object.
"""
import fnmatch
import getpass
import http.client
import json
import logging
import os
import posixpath
import re
import urllib.parse
import xml.etree.ElementTree as ET

from mrjob.cat import decompress
from mrjob.fs.hadoop import HadoopFilesystem

log = logging.getLogger(__name__)

PROBE_SECONDS = 3.0
"""How long the first request may take before the CLI is used instead."""
TIMEOUT_SECONDS = 120.0
"""Timeout of each later request (reads of large files stream within it per chunk)."""
CHUNK_BYTES = 1 << 20
GLOB_CHARS = re.compile(r"[*?\[]")

_CACHE = {}


def client_conf_dir():
    """Directory of the Hadoop client configuration the CLI would read."""
    if os.environ.get("HADOOP_CONF_DIR"):
        return os.environ["HADOOP_CONF_DIR"]
    home = os.environ.get("HADOOP_HOME")
    if home and os.path.isdir(os.path.join(home, "etc", "hadoop")):
        return os.path.join(home, "etc", "hadoop")
    return "/etc/hadoop/conf"


def read_site(conf_dir, name):
    """{property: value} of one ``*-site.xml``; {} when it is missing or unreadable."""
    try:
        root = ET.parse(os.path.join(conf_dir, name)).getroot()
    except (OSError, ET.ParseError):
        return {}
    return {p.findtext("name", "").strip(): (p.findtext("value") or "").strip()
            for p in root.iter("property")}


def hadoop_filesystem(hadoop_bin=None):
    """The filesystem serving Hadoop URIs for the current client configuration (WebHDFS
    when usable, else the CLI ``hadoop_bin``, a command list, found as mrjob finds it when
    None); one per configuration, user and binary, so the probe and the CLI's ``hadoop
    version`` happen once per process."""
    key = (client_conf_dir(), os.environ.get("HADOOP_HOME"), os.environ.get("HADOOP_USER_NAME"),
           tuple(hadoop_bin or ()))
    if key not in _CACHE:
        _CACHE[key] = _pick(key[0], hadoop_bin)
    return _CACHE[key]


def _pick(conf_dir, hadoop_bin):
    core, hdfs = read_site(conf_dir, "core-site.xml"), read_site(conf_dir, "hdfs-site.xml")
    why_not = _why_not_http(core, hdfs)
    if not why_not:
        fs = WebHdfsFilesystem(core.get("fs.defaultFS", ""), _http_addresses(core, hdfs),
                               os.environ.get("HADOOP_USER_NAME") or getpass.getuser(),
                               hadoop_bin)
        why_not = fs.probe()
        if not why_not:
            log.debug("HDFS through WebHDFS at %s", fs.address)
            return fs
    log.info("HDFS through the hadoop CLI (%s)", why_not)
    return HadoopFilesystem(hadoop_bin)


def _why_not_http(core, hdfs):
    if core.get("hadoop.security.authentication", "simple").lower() != "simple":
        return "hadoop.security.authentication is %s" % core["hadoop.security.authentication"]
    if hdfs.get("dfs.webhdfs.enabled", "true").lower() == "false":
        return "dfs.webhdfs.enabled is false"
    if hdfs.get("dfs.http.policy", "HTTP_ONLY").upper() == "HTTPS_ONLY":
        return "dfs.http.policy is HTTPS_ONLY"
    if not core.get("fs.defaultFS", "").startswith("hdfs://"):
        return "fs.defaultFS is not hdfs://"
    return None


def _http_addresses(core, hdfs):
    """host:port of each NameNode's HTTP server for the default filesystem."""
    service = urllib.parse.urlparse(core["fs.defaultFS"]).netloc
    namenodes = hdfs.get("dfs.ha.namenodes.%s" % service.split(":")[0])
    if namenodes:
        keys = ["dfs.namenode.http-address.%s.%s" % (service, nn.strip())
                for nn in namenodes.split(",")]
        return [hdfs[k] for k in keys if k in hdfs]
    address = hdfs.get("dfs.namenode.http-address", "0.0.0.0:9870")
    host, port = address.rsplit(":", 1)
    if host in ("0.0.0.0", ""):  # the default binds everywhere: reach it by the RPC host
        host = service.rsplit(":", 1)[0]
    return ["%s:%s" % (host, port)]


class WebHdfsError(IOError):
    pass


class WebHdfsFilesystem(HadoopFilesystem):
    """mrjob's filesystem interface (``ls``, ``cat``, ``put``, ``rm``, ...) over WebHDFS for
    the default filesystem's URIs and through the CLI (mrjob's ``HadoopFilesystem``) for any
    other, plus :meth:`write_atomic` and :meth:`stat`; the version read from the NameNode."""

    def __init__(self, default_fs, addresses, user, hadoop_bin=None):
        super(WebHdfsFilesystem, self).__init__(hadoop_bin)
        self.default_authority = urllib.parse.urlparse(default_fs).netloc
        self.addresses = addresses
        self.address = addresses[0] if addresses else None
        self.user = user
        self._version = None

    # --- mrjob's Filesystem interface ------------------------------------------------

    def over_http(self, uri):
        """True for URIs of the default filesystem (served here), False for the CLI's."""
        parsed = urllib.parse.urlparse(uri)
        return parsed.scheme == "hdfs" and parsed.netloc in ("", self.default_authority)

    def get_hadoop_version(self):
        """The NameNode's version (its JMX bean), as mrjob parses ``hadoop version``."""
        if not self._version:
            status, body, _ = self._request(
                "GET", "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo")
            beans = json.loads(body or b"{}").get("beans") or [{}] if status == 200 else [{}]
            version = str(beans[0].get("SoftwareVersion") or beans[0].get("Version", ""))
            match = re.match(r"\d+(\.\d+)+", version)
            self._version = (match.group(0) if match else
                             super(WebHdfsFilesystem, self).get_hadoop_version())
        return self._version

    def ls(self, path_glob):
        """Every file under the matches of ``path_glob``, recursively, as URIs."""
        if not self.over_http(path_glob):
            return super(WebHdfsFilesystem, self).ls(path_glob)
        return self._ls(path_glob)

    def _ls(self, path_glob):
        for uri, status in self._glob(path_glob):
            for found in self._files(uri, status):
                yield found

    def exists(self, path_glob):
        if not self.over_http(path_glob):
            return super(WebHdfsFilesystem, self).exists(path_glob)
        return bool(self._glob(path_glob))

    def du(self, path_glob):
        if not self.over_http(path_glob):
            return super(WebHdfsFilesystem, self).du(path_glob)
        total = 0
        for uri, status in self._glob(path_glob):
            if status["type"] == "DIRECTORY":
                total += self._json("GET", uri, "GETCONTENTSUMMARY")["ContentSummary"]["length"]
            else:
                total += status["length"]
        return total

    def _cat_file(self, path):
        if not self.over_http(path):
            return super(WebHdfsFilesystem, self)._cat_file(path)
        return self._cat_http(path)

    def _cat_http(self, path):
        response = self._open(path)
        try:
            for chunk in decompress(response, path):
                yield chunk
        finally:
            response.close()

    def mkdir(self, path):
        if not self.over_http(path):
            return super(WebHdfsFilesystem, self).mkdir(path)
        self._json("PUT", path, "MKDIRS")

    def put(self, src, path):
        if not self.over_http(path):
            return super(WebHdfsFilesystem, self).put(src, path)
        with open(src, "rb") as f:  # streamed, its length from fstat
            self._create(path, f, overwrite=False)

    def rm(self, path_glob):
        if not self.over_http(path_glob):
            return super(WebHdfsFilesystem, self).rm(path_glob)
        for uri, _ in self._glob(path_glob):
            self._json("DELETE", uri, "DELETE", recursive="true")

    def touchz(self, path):
        if not self.over_http(path):
            return super(WebHdfsFilesystem, self).touchz(path)
        self._create(path, b"", overwrite=False)

    # --- beyond mrjob's interface ----------------------------------------------------

    def write_atomic(self, path, data):
        """Replace ``path`` as ``hadoop fs -put -f`` does: write ``<path>._COPYING_``, delete
        ``<path>``, rename (HDFS renames do not replace), three NameNode calls."""
        staged = path + "._COPYING_"
        self._create(staged, data, overwrite=True)
        self._json("DELETE", path, "DELETE", recursive="false")
        if not self._json("PUT", staged, "RENAME",
                          destination=self._path_of(path))["boolean"]:
            raise WebHdfsError("could not rename %s to %s" % (staged, path))

    def stat(self, path):
        """(size in bytes, modification time in ms) of a file; FileNotFoundError if none."""
        status = self._json("GET", path, "GETFILESTATUS")["FileStatus"]
        return status["length"], status["modificationTime"]

    def probe(self):
        """None when some NameNode answers (the first that does is used), else why not."""
        why = "no dfs.namenode.http-address"
        for address in self.addresses:
            self.address = address
            try:
                status, body, _ = self._request("GET", self._url("/", "GETFILESTATUS"),
                                                timeout=PROBE_SECONDS)
            except OSError as e:
                why = "WebHDFS at %s: %s" % (address, e)
                continue
            if status == 200:
                return None
            why = "WebHDFS at %s answered HTTP %d" % (address, status)
        return why

    # --- requests --------------------------------------------------------------------

    def _path_of(self, uri):
        parsed = urllib.parse.urlparse(uri)
        return posixpath.normpath("/" + parsed.path.lstrip("/")) if parsed.path else "/"

    def _uri(self, path, like=None):
        """``hdfs://`` URI of an absolute path, with the authority of ``like`` (a URI the
        caller gave) or the default filesystem's."""
        authority = urllib.parse.urlparse(like).netloc if like else self.default_authority
        return "hdfs://%s%s" % (authority, path)

    def _url(self, path, op, **params):
        query = dict(params, op=op, **{"user.name": self.user})
        return "/webhdfs/v1%s?%s" % (urllib.parse.quote(path), urllib.parse.urlencode(query))

    def _request(self, method, url, body=None, timeout=TIMEOUT_SECONDS, stream=False):
        """(status, body bytes or the open response when ``stream``, headers) of one request;
        ``url`` is a path on the NameNode or a full ``http://`` redirect location."""
        parsed = urllib.parse.urlparse(url)
        host = parsed.netloc or self.address
        target = url if not parsed.netloc else parsed.path + ("?" + parsed.query if parsed.query else "")
        connection = http.client.HTTPConnection(host, timeout=timeout, blocksize=CHUNK_BYTES)
        connection.request(method, target, body=body,
                           headers={"Content-Type": "application/octet-stream"} if body is not None else {})
        response = connection.getresponse()
        if stream and response.status == 200:
            return response.status, response, response.headers
        data = response.read()
        connection.close()
        return response.status, data, response.headers

    def _json(self, method, uri, op, **params):
        status, body, _ = self._request(method, self._url(self._path_of(uri), op, **params))
        if status != 200:
            _raise(status, body, uri)
        return json.loads(body) if body else {}

    def _create(self, uri, data, overwrite):
        """Write ``data`` (bytes, or a file opened for reading) to a new file ``uri``."""
        url = self._url(self._path_of(uri), "CREATE", overwrite=str(overwrite).lower())
        status, body, headers = self._request("PUT", url)
        if status == 307:
            status, body, _ = self._request("PUT", headers["Location"], body=data)
        if status not in (200, 201):
            _raise(status, body, uri)

    def _open(self, uri):
        status, body, headers = self._request("GET", self._url(self._path_of(uri), "OPEN"))
        if status == 307:
            status, body, headers = self._request("GET", headers["Location"], stream=True)
        if status != 200:
            _raise(status, body, uri)
        return body

    def _list(self, uri):
        return self._json("GET", uri, "LISTSTATUS")["FileStatuses"]["FileStatus"]

    def _files(self, uri, status):
        """The file ``uri`` itself, or every file under the directory ``uri``, by name."""
        if status["type"] != "DIRECTORY":
            yield uri
            return
        for child in sorted(self._list(uri), key=lambda s: s["pathSuffix"]):
            for found in self._files(uri.rstrip("/") + "/" + child["pathSuffix"], child):
                yield found

    def _glob(self, path_glob):
        """[(uri, FileStatus)] of what ``path_glob`` names (``*``, ``?``, ``[...]`` in any
        component, as Hadoop's globbing; nothing for a missing path)."""
        path = self._path_of(path_glob)
        matched = [("/", None)]
        for part in [p for p in path.split("/") if p]:
            matched = [(posixpath.join(parent, name), status)
                       for parent, _ in matched for name, status in self._children(parent, part)]
        result = []
        for path, status in matched:
            if status is None:
                try:
                    status = self._json("GET", self._uri(path), "GETFILESTATUS")["FileStatus"]
                except FileNotFoundError:
                    continue
            result.append((self._uri(path, like=path_glob), status))
        return result

    def _children(self, parent, part):
        """(name, status or None) under ``parent`` matching the component ``part``."""
        if not GLOB_CHARS.search(part):
            return [(part, None)]
        try:
            listing = self._list(self._uri(parent))
        except (FileNotFoundError, WebHdfsError):
            return []
        return [(s["pathSuffix"], s) for s in sorted(listing, key=lambda s: s["pathSuffix"])
                if fnmatch.fnmatchcase(s["pathSuffix"], part)]


def _raise(status, body, uri):
    try:
        remote = json.loads(body)["RemoteException"]
        exception, message = remote.get("exception", ""), remote.get("message", "")
    except (ValueError, KeyError, TypeError):
        exception, message = "", (body or b"")[:200].decode("utf-8", "replace")
    if status == 404 or exception == "FileNotFoundException":
        raise FileNotFoundError(uri)
    raise WebHdfsError("WebHDFS %s: HTTP %d %s %s" % (uri, status, exception, message))
