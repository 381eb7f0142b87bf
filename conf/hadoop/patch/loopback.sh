#!/usr/bin/env bash
# Build lib/patch/hadoop-loopback-bind.jar: 3 Hadoop 3.5.0 classes recompiled
# from their Maven Central -sources jars with ONE change each: the bind
# address that stock Hadoop hard-codes to the wildcard (0.0.0.0 / ::) is read
# from a property instead, default unchanged ("0.0.0.0"):
#   TaskAttemptListenerImpl  (MR AM umbilical RPC)  mrlearn.mapreduce.am.bind-host
#   MRClientService          (MR AM client RPC + AM web UI)  same property
#   ShuffleHandler           (NodeManager aux service)  mrlearn.mapreduce.shuffle.bind-host
# Stock Hadoop has no bind-host setting for these listeners; minicluster.py
# sets both properties to 127.0.0.1 so nothing listens beyond loopback.
#
# usage: patch/loopback.sh LIBDIR   (LIBDIR holds the copied dependencies;
# the jar goes to LIBDIR/patch/, which bin/hadoop and minicluster.py put on
# the classpath BEFORE LIBDIR/*)
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
LIB="$1"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hadoop-loopback.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

say() { echo "loopback-patch: $*" >&2; }
command -v javac >/dev/null || { say "javac not found (need a JDK 17, not just a JRE)"; exit 1; }

# sources jars of the two modules, same versions as the binaries in lib/
mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -Dclassifier=sources \
    -DincludeArtifactIds=hadoop-mapreduce-client-app,hadoop-mapreduce-client-shuffle \
    -DoutputDirectory="$WORK/srcjars" > "$WORK/mvn.log" 2>&1 \
  || { cat "$WORK/mvn.log" >&2; say "could not fetch sources jars"; exit 1; }

mkdir -p "$WORK/src" "$WORK/classes"
TAL=org/apache/hadoop/mapred/TaskAttemptListenerImpl.java
MRC=org/apache/hadoop/mapreduce/v2/app/client/MRClientService.java
SHU=org/apache/hadoop/mapred/ShuffleHandler.java
(cd "$WORK/src" && unzip -q -o "$WORK"/srcjars/hadoop-mapreduce-client-app-*-sources.jar "$TAL" "$MRC" \
                && unzip -q -o "$WORK"/srcjars/hadoop-mapreduce-client-shuffle-*-sources.jar "$SHU")

AM='conf.get("mrlearn.mapreduce.am.bind-host", "0.0.0.0")'
SH='conf.get("mrlearn.mapreduce.shuffle.bind-host", "0.0.0.0")'

edit() {  # edit FILE SED_EXPR MARKER: apply, then insist MARKER is present exactly once
  local f="$WORK/src/$1"
  sed -i "$2" "$f"
  local n; n="$(grep -cF "$3" "$f" || true)"
  [ "$n" = 1 ] || { say "patch did not apply to $1 (expected 1 '$3', found $n)"; exit 1; }
}
edit "$TAL" 's|\.setBindAddress("0\.0\.0\.0")|.setBindAddress('"$AM"')|' \
     ".setBindAddress($AM)"
edit "$MRC" 's|InetSocketAddress address = new InetSocketAddress(0);|InetSocketAddress address = new InetSocketAddress('"$AM"', 0);|' \
     "new InetSocketAddress($AM, 0)"
edit "$MRC" 's|WebApps.\$for("mapreduce", AppContext.class, appContext, "rm-ws")|&.at('"$AM"', 0, true)|' \
     ".at($AM, 0, true)"
edit "$SHU" 's|bootstrap.bind(new InetSocketAddress(port))|bootstrap.bind(new InetSocketAddress('"$SH"', port))|' \
     "new InetSocketAddress($SH, port)"

javac -nowarn -XDsuppressNotes --release 17 -proc:none -cp "$LIB/*" -d "$WORK/classes" \
      "$WORK/src/$TAL" "$WORK/src/$MRC" "$WORK/src/$SHU" 2> "$WORK/javac.log" \
  || { cat "$WORK/javac.log" >&2; say "javac failed"; exit 1; }
mkdir -p "$LIB/patch"
(cd "$WORK/classes" && jar cf "$LIB/patch/hadoop-loopback-bind.jar" .)
say "built $LIB/patch/hadoop-loopback-bind.jar ($(cd "$WORK/classes" && find . -name '*.class' | wc -l) classes)"
