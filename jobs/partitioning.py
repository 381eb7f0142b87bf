"""Sending map output to a chosen reducer, the way Hadoop's HashPartitioner does.

Hadoop streaming's default partitioner sends a key to reducer
``(Text(key).hashCode() & 0x7fffffff) % reducers``, where ``key`` is the text before the
first tab: here the JSON of the key (with its quotes). :func:`keys_for_reducers` finds, for
every reducer, a key that lands on it, so a job can write exactly N part files, one per
part. The local and inline runners get the same rule from the driver.

This module runs on task nodes: no mrjob import, Python 3.9 syntax.
"""
import json


def java_text_hash(data):
    """``org.apache.hadoop.io.Text.hashCode()`` of ``data`` (bytes): signed 32-bit int."""
    h = 1
    for byte in bytearray(data):
        h = (31 * h + (byte - 256 if byte > 127 else byte)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def hadoop_partition(key_bytes, reducers):
    """The reducer Hadoop's HashPartitioner picks for a streaming key (bytes)."""
    return (java_text_hash(key_bytes) & 0x7FFFFFFF) % reducers


def keys_for_reducers(reducers):
    """A list of ``reducers`` string keys; key ``i`` goes to reducer ``i``."""
    keys = [None] * reducers
    missing, salt = reducers, 0
    while missing:
        key = "p%d" % salt
        target = hadoop_partition(json.dumps(key).encode("utf-8"), reducers)
        if keys[target] is None:
            keys[target] = key
            missing -= 1
        salt += 1
    return keys


def ordered_key(prefix, reducer, reducers):
    """A key ``prefix.salt`` that the HashPartitioner sends to ``reducer``.

    Reducers see their keys sorted, so keys built from distinct fixed-width prefixes reach
    a reducer in the order of the prefixes (the salt only breaks no tie).
    """
    salt = 0
    while True:
        key = "%s.%d" % (prefix, salt)
        if hadoop_partition(json.dumps(key).encode("utf-8"), reducers) == reducer:
            return key
        salt += 1
