"""Start and stop a real Hadoop mini-cluster (HDFS + YARN + MapReduce
JobHistory in one JVM: org.apache.hadoop.mapreduce.MiniHadoopClusterManager)
from the jars that ``conf/hadoop/provision`` puts in ``conf/hadoop/lib``.
Standard library only.

Every server listens on 127.0.0.1 ("localhost") only: the ports the manager
would otherwise open on fixed 0.0.0.0 defaults (RM scheduler 8030, tracker
8031, admin 8033, web 8088; JobHistory admin 10033, web 19888; ...) are
given free loopback ports with -D; the listeners stock Hadoop binds to the
wildcard with no setting (NodeManager shuffle, MR ApplicationMaster RPC and
web UI) are bound to 127.0.0.1 by lib/patch/hadoop-loopback-bind.jar (see
patch/loopback.sh), which must come before lib/* on every classpath (bin/hadoop
and this module do that; YARN containers inherit the client's classpath
because yarn.is.minicluster=true). The JVM runs in its own session/process
group; stop() kills that group and then the process groups of any YARN
containers still running from WORKDIR (the NodeManager setsid()s them).

The cluster: HDFS permissions off (single-user sandbox), replication 1,
JSON job-history files, AM staging dir hdfs:///tmp/hadoop-yarn/staging-mini.
Containers run as the user of this process with DefaultContainerExecutor.

Library use::

    import sys; sys.path.insert(0, 'conf/hadoop')
    from minicluster import MiniCluster

    with MiniCluster('/tmp/scratch/mc') as mc:      # starts, waits <= 180 s
        env = dict(os.environ, **mc.client_env())   # HADOOP_HOME, HADOOP_CONF_DIR
        subprocess.run([mc.hadoop_bin, 'fs', '-ls', '/'], env=env)
        subprocess.run([sys.executable, 'job.py', '-r', 'hadoop'] + mc.mrjob_args()
                       + ['hdfs:///in/data.txt'], env=env)
    # stopped here (process group killed)

Command line (the cluster outlives the command; state in WORKDIR/minicluster.json)::

    eval "$(python3 conf/hadoop/minicluster.py start WORKDIR)"  # prints export lines
    python3 wordcount.py -r hadoop $MINICLUSTER_MRJOB_ARGS hdfs:///in ...
    python3 conf/hadoop/minicluster.py status WORKDIR
    python3 conf/hadoop/minicluster.py stop WORKDIR

Clients (``bin/hadoop``, mrjob ``-r hadoop``) use HADOOP_CONF_DIR=WORKDIR/conf,
which holds small core-site.xml / hdfs-site.xml / mapred-site.xml /
yarn-site.xml written from the manager's -writeConfig dump
(WORKDIR/conf/minicluster-full.xml, kept for reference, not loaded).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
LIB_DIR = os.path.join(HERE, 'lib')
HADOOP_HOME = os.path.join(HERE, 'home')
HADOOP_BIN = os.path.join(HADOOP_HOME, 'bin', 'hadoop')
LOG4J = os.path.join(HERE, 'log4j.properties')
MANAGER = 'org.apache.hadoop.mapreduce.MiniHadoopClusterManager'

# module opens Hadoop's own build passes to JDK 17 test JVMs
# (hadoop-project pom, extraJavaTestArgs) + the exports the NodeManager adds
JDK_OPENS = [
    '-XX:+IgnoreUnrecognizedVMOptions',
    '--add-opens=java.base/java.io=ALL-UNNAMED',
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
    '--add-opens=java.base/java.math=ALL-UNNAMED',
    '--add-opens=java.base/java.net=ALL-UNNAMED',
    '--add-opens=java.base/java.text=ALL-UNNAMED',
    '--add-opens=java.base/java.util=ALL-UNNAMED',
    '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
    '--add-opens=java.base/java.util.zip=ALL-UNNAMED',
    '--add-opens=java.base/sun.security.util=ALL-UNNAMED',
    '--add-opens=java.base/sun.security.x509=ALL-UNNAMED',
    '--add-exports=java.base/sun.net.dns=ALL-UNNAMED',
    '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
    '--enable-native-access=ALL-UNNAMED',
]

# properties copied from the manager's dump into the clients' conf dir
CLIENT_KEYS = {
    'core-site.xml': [
        'fs.defaultFS',
    ],
    'hdfs-site.xml': [
        'dfs.replication',
        'dfs.namenode.http-address',  # WebHDFS, as a real cluster's client conf has it
    ],
    'yarn-site.xml': [
        'yarn.resourcemanager.address',
        'yarn.resourcemanager.scheduler.address',
        'yarn.resourcemanager.resource-tracker.address',
        'yarn.resourcemanager.admin.address',
        'yarn.resourcemanager.webapp.address',
        'yarn.resourcemanager.webapp.https.address',
        'yarn.is.minicluster',
        'yarn.minicluster.fixed.ports',
    ],
    'mapred-site.xml': [
        'mapreduce.framework.name',
        'mapreduce.jobhistory.address',
        'mapreduce.jobhistory.admin.address',
        'mapreduce.jobhistory.webapp.address',
        'mapreduce.jobhistory.webapp.https.address',
        'yarn.app.mapreduce.am.staging-dir',
        'mapreduce.jvm.add-opens-as-default',
        'mapreduce.client.submit.file.replication',
        'mapreduce.job.reduce.slowstart.completedmaps',
        'mrlearn.mapreduce.am.bind-host',
        'mapreduce.jobhistory.jhist.format',
    ],
}


class MiniClusterError(RuntimeError):
    pass


def free_ports(n, host='127.0.0.1'):
    """n distinct currently-free TCP ports on host (all bound at once, then
    released, so they differ from each other)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def read_hadoop_xml(path):
    """{name: value} of a Hadoop configuration XML file."""
    root = ET.parse(path).getroot()
    conf = {}
    for prop in root.iter('property'):
        name = prop.findtext('name')
        if name is not None:
            conf[name] = prop.findtext('value') or ''
    return conf


def write_hadoop_xml(path, props, comment=None):
    lines = ['<?xml version="1.0"?>']
    if comment:
        lines.append('<!-- %s -->' % comment)
    lines.append('<configuration>')
    for k, v in props.items():
        lines.append('  <property><name>%s</name><value>%s</value></property>'
                     % (escape(k), escape(v)))
    lines.append('</configuration>')
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(tmp, path)


def _java_home(java):
    """JAVA_HOME for the java executable (the NodeManager launches
    containers with $JAVA_HOME/bin/java)."""
    import shutil
    path = shutil.which(java)
    if not path:
        return None
    return os.path.dirname(os.path.dirname(os.path.realpath(path)))


def _http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode('utf-8'))


class MiniCluster(object):
    """One MiniHadoopClusterManager JVM: 1 NameNode + ``datanodes`` DataNodes,
    ResourceManager + ``nodemanagers`` NodeManagers, JobHistoryServer.

    workdir: scratch directory (created); the JVM runs with it as cwd and
    writes ./target (HDFS blocks, NM dirs, container logs), its log goes to
    workdir/minicluster.log, the client conf to workdir/conf.
    """

    def __init__(self, workdir, datanodes=1, nodemanagers=1, java=None,
                 heap='2g', extra_conf=None, log_level='WARN',
                 nm_memory_mb=8192, nm_vcores=8):
        self.workdir = os.path.abspath(workdir)
        self.datanodes = datanodes
        self.nodemanagers = nodemanagers
        if java is None:
            jh = os.environ.get('JAVA_HOME')
            java = os.path.join(jh, 'bin', 'java') if jh else 'java'
        self.java = java
        self.heap = heap
        self.extra_conf = dict(extra_conf or {})
        self.log_level = log_level
        self.nm_memory_mb = nm_memory_mb
        self.nm_vcores = nm_vcores
        self.proc = None
        self.pgid = None
        self.ports = {}
        self.conf_dir = os.path.join(self.workdir, 'conf')
        self.dump_path = os.path.join(self.conf_dir, 'minicluster-full.xml')
        self.details_path = os.path.join(self.workdir, 'minicluster-details.json')
        self.log_path = os.path.join(self.workdir, 'minicluster.log')
        self.state_path = os.path.join(self.workdir, 'minicluster.json')
        self.hadoop_bin = HADOOP_BIN
        self.start_seconds = None
        self.hadoop_log_dirs = []

    # ---------------------------------------------------------------- start
    def _command(self):
        p = self.ports
        lo = '127.0.0.1'
        conf = {
            # client-visible behaviour (ends up in the dump -> client conf)
            'mapreduce.framework.name': 'yarn',
            'yarn.is.minicluster': 'true',
            'mapreduce.jvm.add-opens-as-default': 'true',
            # a non-default staging dir: MiniMRYarnCluster would otherwise
            # swap the default for a local path that clients don't know, and
            # the JobHistoryServer would not find finished jobs
            'yarn.app.mapreduce.am.staging-dir': '/tmp/hadoop-yarn/staging-mini',
            'dfs.replication': '1',
            # single-user sandbox: any HADOOP_USER_NAME may write anywhere
            'dfs.permissions.enabled': 'false',
            'mapreduce.client.submit.file.replication': '1',
            'mapreduce.job.reduce.slowstart.completedmaps': '1.0',
            # mrjob parses only JSON job history files (3.x default: binary)
            'mapreduce.jobhistory.jhist.format': 'json',
            # fixed 0.0.0.0 defaults -> loopback + free ports
            'yarn.resourcemanager.scheduler.address': '%s:%d' % (lo, p['rm_scheduler']),
            'yarn.resourcemanager.resource-tracker.address': '%s:%d' % (lo, p['rm_tracker']),
            'yarn.resourcemanager.admin.address': '%s:%d' % (lo, p['rm_admin']),
            'yarn.resourcemanager.webapp.address': '%s:%d' % (lo, p['rm_web']),
            'yarn.resourcemanager.webapp.https.address': '%s:%d' % (lo, p['rm_web_https']),
            'mapreduce.jobhistory.admin.address': '%s:%d' % (lo, p['jhs_admin']),
            'mapreduce.jobhistory.webapp.address': '%s:%d' % (lo, p['jhs_web']),
            'mapreduce.jobhistory.webapp.https.address': '%s:%d' % (lo, p['jhs_web_https']),
            # stock Hadoop binds these to the wildcard with no setting to
            # change it; lib/patch/hadoop-loopback-bind.jar (patch/loopback.sh)
            # reads these properties instead. The AM one reaches the AM via
            # the client conf (CLIENT_KEYS).
            'mrlearn.mapreduce.am.bind-host': lo,
            'mrlearn.mapreduce.shuffle.bind-host': lo,
            'yarn.nodemanager.bind-host': lo,
            'yarn.resourcemanager.bind-host': lo,
            'mapreduce.jobhistory.bind-host': lo,
            'dfs.namenode.rpc-bind-host': lo,
            'dfs.namenode.http-bind-host': lo,
            'dfs.datanode.address': '%s:0' % lo,
            'dfs.datanode.http.address': '%s:0' % lo,
            'dfs.datanode.ipc.address': '%s:0' % lo,
            'yarn.nodemanager.resource.memory-mb': str(self.nm_memory_mb),
            'yarn.minicluster.yarn.nodemanager.resource.memory-mb': str(self.nm_memory_mb),
            'yarn.nodemanager.resource.cpu-vcores': str(self.nm_vcores),
            # no disk-full surprises on shared scratch disks
            'yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage': '99',
            'yarn.log-aggregation-enable': 'false',
            'yarn.timeline-service.enabled': 'false',
        }
        conf.update(self.extra_conf)
        cmd = [self.java] + JDK_OPENS + [
            '-Xmx' + self.heap,
            '-Djava.net.preferIPv4Stack=true',
            '-Dhadoop.home.dir=' + HADOOP_HOME,
            '-Dhadoop.log.dir=' + os.path.join(self.workdir, 'logs'),
            # Jetty unpacks its webapps here (default /tmp/jetty-*, left behind)
            '-Djava.io.tmpdir=' + os.path.join(self.workdir, 'tmp'),
            '-Dhadoop.root.logger=%s,console' % self.log_level,
            '-Dlog4j.configuration=file:' + LOG4J,
            '-Dtest.build.data=' + os.path.join(self.workdir, 'target', 'test', 'data'),
            '-cp', os.path.join(LIB_DIR, 'patch', '*') + os.pathsep +
            os.path.join(LIB_DIR, '*'),
            MANAGER,
            '-format',
            '-datanodes', str(self.datanodes),
            '-nodemanagers', str(self.nodemanagers),
            '-nnport', str(p['nn']),
            '-nnhttpport', str(p['nn_http']),
            '-rmport', str(p['rm']),
            '-jhsport', str(p['jhs']),
            '-writeConfig', self.dump_path,
            '-writeDetails', self.details_path,
        ]
        for k, v in conf.items():
            cmd += ['-D', '%s=%s' % (k, v)]
        return cmd

    def start(self, timeout=180):
        """Start the cluster and wait (at most ``timeout`` s) until the conf
        is written, HDFS answers and a NodeManager is registered with the RM.
        Returns the clients' HADOOP_CONF_DIR."""
        if self.proc is not None:
            raise MiniClusterError('already started')
        if not os.path.isfile(os.path.join(LIB_DIR, '.provisioned')):
            raise MiniClusterError('%s is not provisioned; run %s'
                                   % (LIB_DIR, os.path.join(HERE, 'provision')))
        t0 = time.time()
        for attempt in (1, 2):
            self._launch(truncate_log=(attempt == 1))
            try:
                self._wait_ready(t0 + timeout)
                break
            except MiniClusterError as e:
                self.stop()
                # a port picked by free_ports() was taken before the JVM
                # bound it: try once more with fresh ports
                if attempt == 1 and 'BindException' in self._log_tail(200):
                    continue
                raise MiniClusterError('%s\n--- last lines of %s ---\n%s'
                                       % (e, self.log_path, self._log_tail(25)))
            except BaseException:
                self.stop()
                raise
        self._write_client_conf()
        self._make_log_views()
        self.start_seconds = time.time() - t0
        self._save_state()
        return self.conf_dir

    def _launch(self, truncate_log=True):
        # fresh state: -format wipes HDFS anyway, old NM dirs would confuse
        # the log views
        import shutil
        for d in ('target', 'logs-mrjob', 'tmp'):
            shutil.rmtree(os.path.join(self.workdir, d), ignore_errors=True)
        os.makedirs(self.conf_dir, exist_ok=True)
        os.makedirs(os.path.join(self.workdir, 'tmp'), exist_ok=True)
        for path in (self.dump_path, self.details_path):
            if os.path.exists(path):
                os.remove(path)
        names = ['nn', 'nn_http', 'rm', 'rm_scheduler', 'rm_tracker',
                 'rm_admin', 'rm_web', 'rm_web_https', 'jhs', 'jhs_admin',
                 'jhs_web', 'jhs_web_https']
        self.ports = dict(zip(names, free_ports(len(names))))
        env = dict(os.environ)
        env.setdefault('JAVA_HOME', _java_home(self.java) or '')
        env.pop('HADOOP_CONF_DIR', None)  # the cluster must not read a client conf
        log = open(self.log_path, 'wb' if truncate_log else 'ab')
        try:
            self.proc = subprocess.Popen(
                self._command(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env=env)
        finally:
            log.close()
        self.pgid = self.proc.pid  # session leader: pgid == pid
        self._save_state()

    def _log_tail(self, n):
        try:
            with open(self.log_path, 'rb') as f:
                lines = f.read().decode('utf-8', 'replace').splitlines()
            return '\n'.join(lines[-n:])
        except OSError:
            return ''

    def _alive(self):
        return self.proc is None or self.proc.poll() is None

    def _wait_ready(self, deadline):
        def check_deadline(what):
            if not self._alive():
                raise MiniClusterError(
                    'mini-cluster JVM exited with %s while waiting for %s; '
                    'see %s' % (self.proc.returncode, what, self.log_path))
            if time.time() > deadline:
                raise MiniClusterError('timed out waiting for %s; see %s'
                                       % (what, self.log_path))
            time.sleep(0.5)

        # 1. the manager writes -writeConfig after HDFS, YARN and JHS are up
        #    (not atomically: wait for a parseable file)
        while True:
            if os.path.exists(self.dump_path):
                try:
                    self.dump = read_hadoop_xml(self.dump_path)
                    if self.dump.get('fs.defaultFS', '').startswith('hdfs://'):
                        break
                except ET.ParseError:
                    pass
            check_deadline('the config dump %s' % self.dump_path)
        # 2. HDFS answers (WebHDFS on the NameNode's HTTP port) and is
        #    writable (out of safe mode)
        url = ('http://127.0.0.1:%d/webhdfs/v1/?op=GETFILESTATUS'
               % self.ports['nn_http'])
        sm = ('http://127.0.0.1:%d/jmx?qry=Hadoop:service=NameNode,'
              'name=NameNodeInfo' % self.ports['nn_http'])
        while True:
            try:
                st = _http_json(url)
                info = _http_json(sm)['beans'][0]
                if st['FileStatus']['type'] == 'DIRECTORY' and \
                        not info.get('Safemode'):
                    break
            except Exception:
                pass
            check_deadline('HDFS (%s)' % url)
        # 3. a NodeManager registered with the ResourceManager
        url = ('http://127.0.0.1:%d/ws/v1/cluster/metrics'
               % self.ports['rm_web'])
        while True:
            try:
                m = _http_json(url)['clusterMetrics']
                if m.get('activeNodes', 0) >= self.nodemanagers:
                    break
            except Exception:
                pass
            check_deadline('YARN NodeManagers (%s)' % url)

    def _write_client_conf(self):
        dump = self.dump
        for fname, keys in CLIENT_KEYS.items():
            props = {}
            for k in keys:
                if k in dump:
                    props[k] = dump[k]
            write_hadoop_xml(
                os.path.join(self.conf_dir, fname), props,
                'client conf for the mini-cluster in %s (generated by '
                'minicluster.py)' % self.workdir)

    # ----------------------------------------------------------------- info
    @property
    def hdfs_uri(self):
        return 'hdfs://localhost:%d' % self.ports['nn']

    def _make_log_views(self):
        """mrjob looks for task logs in LOGDIR/userlogs/APPLICATION_ID/
        container_*/stderr; the NodeManager writes them to 4 dirs
        target/.../yarn-NNN/MiniHadoopClusterManager-logDir-nm-I_J/APPLICATION_ID/.
        Make workdir/logs-mrjob/nm-I_J/userlogs -> that dir for each."""
        import glob
        base = os.path.join(self.workdir, 'logs-mrjob')
        self.hadoop_log_dirs = []
        pattern = os.path.join(self.workdir, 'target', 'test', 'data',
                               'MiniHadoopClusterManager', 'yarn-*',
                               'MiniHadoopClusterManager-logDir-nm-*')
        for real in sorted(glob.glob(pattern)):
            view = os.path.join(base, real.rsplit('-nm-', 1)[1])
            os.makedirs(view, exist_ok=True)
            link = os.path.join(view, 'userlogs')
            if os.path.islink(link):
                os.remove(link)
            os.symlink(real, link)
            self.hadoop_log_dirs.append(view)

    def mrjob_args(self):
        """Extra mrjob switches for this cluster: where the task logs and
        the job history files are, so that a failed job's "Probable cause of
        failure" is the task's Python traceback. mrjob needs the history file
        (attempt -> container map) and only recognises history files of
        user "hadoop" (mrjob/logs/history.py _HISTORY_LOG_PATH_RE), so that
        only works with HADOOP_USER_NAME=hadoop (see client_env); otherwise
        it reports the Java-side error."""
        args = ['--hadoop-log-dirs', 'hdfs:///tmp/hadoop-yarn/staging-mini/history']
        for d in self.hadoop_log_dirs:
            args += ['--hadoop-log-dirs', d]
        return args

    def client_env(self, hadoop_user=None):
        """Environment variables for clients (bin/hadoop, mrjob -r hadoop).
        hadoop_user='hadoop' adds HADOOP_USER_NAME=hadoop (see mrjob_args)."""
        env = {'HADOOP_HOME': HADOOP_HOME, 'HADOOP_CONF_DIR': self.conf_dir}
        if hadoop_user:
            env['HADOOP_USER_NAME'] = hadoop_user
        return env

    def _save_state(self):
        state = {
            'pid': self.proc.pid if self.proc else None,
            'pgid': self.pgid,
            'ports': self.ports,
            'conf_dir': self.conf_dir,
            'dump': self.dump_path,
            'log': self.log_path,
            'start_seconds': self.start_seconds,
            'hadoop_home': HADOOP_HOME,
            'mrjob_args': self.mrjob_args(),
        }
        with open(self.state_path + '.tmp', 'w') as f:
            json.dump(state, f, indent=1)
        os.replace(self.state_path + '.tmp', self.state_path)

    # ----------------------------------------------------------------- stop
    def stop(self, timeout=30):
        """Kill the JVM's process group (SIGTERM, then SIGKILL after
        ``timeout`` s), then any YARN container still running from this
        workdir (the NodeManager starts containers with setsid, so they are
        in process groups of their own). Safe to call twice."""
        if self.pgid is None:
            return
        _stop_all(self.pgid, self.workdir, self.proc, timeout)
        self.pgid = None
        self.proc = None
        if os.path.exists(self.state_path):
            os.remove(self.state_path)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _workdir_pgids(workdir):
    """Process groups of processes that belong to the cluster in workdir:
    command line mentions workdir/target (container launchers and JVMs) or
    current directory inside it (streaming tasks)."""
    target = os.path.join(os.path.abspath(workdir), 'target')
    me = os.getpgrp()
    pgids = set()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
            try:
                cwd = os.readlink('/proc/%s/cwd' % pid)
            except OSError:
                cwd = ''
            if target in cmd or cwd == target or cwd.startswith(target + '/'):
                pgid = os.getpgid(int(pid))
                if pgid > 1 and pgid != me:
                    pgids.add(pgid)
        except (OSError, ProcessLookupError):
            continue
    return pgids


def _stop_all(pgid, workdir, proc=None, timeout=30):
    leftovers = _workdir_pgids(workdir) - {pgid}
    _kill_group(pgid, proc, timeout)
    # containers the NodeManager did not stop on its way down
    for g in leftovers | (_workdir_pgids(workdir) - {pgid}):
        _kill_group(g, None, 10)


def _kill_group(pgid, proc=None, timeout=30):
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None:
            proc.poll()  # reap the leader so the group can disappear
        if not _group_alive(pgid):
            break
        time.sleep(0.2)
    else:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------------------------- CLI
def _main(argv):
    import argparse
    import shlex
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('action', choices=['start', 'stop', 'status'])
    ap.add_argument('workdir')
    ap.add_argument('--timeout', type=float, default=180)
    ap.add_argument('--log-level', default='WARN',
                    help='log4j level of the cluster log WORKDIR/minicluster.log')
    ap.add_argument('--hadoop-user', default=None, metavar='NAME',
                    help='also print export HADOOP_USER_NAME=NAME ("hadoop" '
                         'lets mrjob show task tracebacks, see mrjob_args)')
    ap.add_argument('-D', dest='conf', action='append', default=[],
                    metavar='KEY=VALUE', help='extra property for the cluster')
    a = ap.parse_args(argv)
    state_path = os.path.join(os.path.abspath(a.workdir), 'minicluster.json')

    if a.action == 'start':
        if os.path.exists(state_path):
            with open(state_path) as f:
                st = json.load(f)
            if st.get('pgid') and _group_alive(st['pgid']):
                sys.exit('already running (pgid %s); stop it first' % st['pgid'])
        os.makedirs(a.workdir, exist_ok=True)
        extra = dict(kv.split('=', 1) for kv in a.conf)
        mc = MiniCluster(a.workdir, extra_conf=extra, log_level=a.log_level)
        conf_dir = mc.start(timeout=a.timeout)
        for k, v in mc.client_env(hadoop_user=a.hadoop_user).items():
            print('export %s=%s' % (k, v))
        print('export MINICLUSTER_MRJOB_ARGS=%s'
              % shlex.quote(' '.join(shlex.quote(x) for x in mc.mrjob_args())))
        print('# fs.defaultFS=%s  pgid=%d  started in %.1f s'
              % (mc.hdfs_uri, mc.pgid, mc.start_seconds))
        # the JVM is in its own session: it keeps running after we exit
        return 0

    if not os.path.exists(state_path):
        print('not running (no %s)' % state_path)
        return 0 if a.action == 'stop' else 1
    with open(state_path) as f:
        st = json.load(f)
    pgid = st.get('pgid')
    if a.action == 'status':
        alive = bool(pgid) and _group_alive(pgid)
        try:
            print(json.dumps(dict(st, alive=alive), indent=1))
        except BrokenPipeError:
            pass
        return 0 if alive else 1
    if pgid:
        _stop_all(pgid, a.workdir)
    os.remove(state_path)
    print('stopped (pgid %s)' % pgid)
    return 0


if __name__ == '__main__':
    sys.exit(_main(sys.argv[1:]))
