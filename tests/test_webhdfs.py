"""Which HDFS client serves a configuration (hdfs_utils/webhdfs.py): WebHDFS only where the
cluster allows simple HTTP and a NameNode answers, the CLI otherwise. Reading and writing
over WebHDFS is tested on the real mini-cluster (test_hadoop.py)."""
import http.server
import json
import socket
import threading
import time

import pytest
from mrjob.fs.hadoop import HadoopFilesystem

from hdfs_utils import webhdfs


def _site(directory, name, properties):
    body = "".join("<property><name>%s</name><value>%s</value></property>" % kv
                   for kv in properties.items())
    (directory / name).write_text("<?xml version=\"1.0\"?><configuration>%s</configuration>"
                                  % body)


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def namenode():
    """An HTTP server on 127.0.0.1 answering WebHDFS's GETFILESTATUS of / (as a NameNode
    does); yields its port and the request paths it saw."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = json.dumps({"FileStatus": {"type": "DIRECTORY", "length": 0}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def client_conf(tmp_path, monkeypatch):
    """Write a client conf dir and point HADOOP_CONF_DIR at it; returns the writer."""
    monkeypatch.setenv("HADOOP_CONF_DIR", str(tmp_path))
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")
    monkeypatch.setattr(webhdfs, "_CACHE", {})

    def write(core, hdfs):
        _site(tmp_path, "core-site.xml", dict({"fs.defaultFS": "hdfs://nn.example:8020"}, **core))
        _site(tmp_path, "hdfs-site.xml", hdfs)
    return write


@pytest.mark.parametrize("core,hdfs", [
    ({"hadoop.security.authentication": "kerberos"}, {}),
    ({}, {"dfs.http.policy": "HTTPS_ONLY"}),
    ({}, {"dfs.webhdfs.enabled": "false"}),
    ({"fs.defaultFS": "viewfs://cluster"}, {}),
], ids=["kerberos", "https-only", "webhdfs-off", "viewfs"])
def test_clusters_that_keep_http_clients_out_get_the_cli(client_conf, namenode, core, hdfs):
    port, seen = namenode
    client_conf(core, dict({"dfs.namenode.http-address": "127.0.0.1:%d" % port}, **hdfs))
    fs = webhdfs.hadoop_filesystem()
    assert type(fs) is HadoopFilesystem
    assert seen == []  # decided from the configuration, without a request


def test_an_address_that_does_not_answer_gets_the_cli_at_once(client_conf):
    client_conf({}, {"dfs.namenode.http-address": "127.0.0.1:%d" % _closed_port()})
    started = time.time()
    assert type(webhdfs.hadoop_filesystem()) is HadoopFilesystem
    assert time.time() - started < webhdfs.PROBE_SECONDS


def test_with_high_availability_the_namenode_that_answers_serves(client_conf, namenode):
    port, seen = namenode
    client_conf({"fs.defaultFS": "hdfs://ns1"}, {
        "dfs.nameservices": "ns1", "dfs.ha.namenodes.ns1": "nn1, nn2",
        "dfs.namenode.http-address.ns1.nn1": "127.0.0.1:%d" % _closed_port(),
        "dfs.namenode.http-address.ns1.nn2": "127.0.0.1:%d" % port})
    fs = webhdfs.hadoop_filesystem()
    assert isinstance(fs, webhdfs.WebHdfsFilesystem) and fs.address == "127.0.0.1:%d" % port
    assert seen == ["/webhdfs/v1/?op=GETFILESTATUS&user.name=alice"]
    assert webhdfs.hadoop_filesystem() is fs  # one probe per configuration
    assert fs.over_http("hdfs://ns1/data/x.csv") and fs.over_http("hdfs:///data/x.csv")
    assert not fs.over_http("hdfs://other:8020/x") and not fs.over_http("s3://b/x")


def test_the_default_address_is_reached_by_the_rpc_host(client_conf):
    client_conf({}, {})
    assert webhdfs._http_addresses(webhdfs.read_site(webhdfs.client_conf_dir(), "core-site.xml"),
                                   {}) == ["nn.example:9870"]
