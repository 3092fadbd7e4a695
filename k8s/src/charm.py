#!/usr/bin/env python3
"""Entrypoint of ``example-blog-k8s``: the shared charm wired to Pebble in a sidecar container."""

from __future__ import annotations

import ops
from pebble_workload import CONTAINER_NAME, PebbleWorkload

from blog_charm import ExampleBlogCharm


class ExampleBlogK8sCharm(ExampleBlogCharm):
    """ExampleBlog as a Pebble service; pebble-ready reconciles from scratch like any event."""

    def __init__(self, framework: ops.Framework):
        container = framework.model.unit.get_container(CONTAINER_NAME)
        super().__init__(framework, PebbleWorkload(container))
        framework.observe(self.on[CONTAINER_NAME].pebble_ready, self.reconcile)


if __name__ == "__main__":  # pragma: no cover
    ops.main(ExampleBlogK8sCharm)
