"""Code that runs on task nodes: numpy kernels, block parsing and one thin MRJob per pass.

Kept importable on Python 3.9 with only numpy and mrjob, and never importing ``driver``
or ``hdfs_utils``: the driver ships this package to the tasks as a zip.
"""
