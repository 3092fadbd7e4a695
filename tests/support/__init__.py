"""Test doubles for the unit tier and the teaching material: the blog, its managers, the seam.

``charm_run``: a charm class run hook by hook by ops.testing, and the fake
blog behind its service manager. ``workload_fake``: the ``Workload`` seam in
memory, for the shared charm. ``service_managers``: systemctl and Pebble
faked at the calls each variant makes, for the variants' own tests, the
tempting designs of ``teaching`` and its bench.
"""
