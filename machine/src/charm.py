#!/usr/bin/env python3
"""Entrypoint of ``example-blog``: the shared charm wired to systemd on the machine."""

from __future__ import annotations

import ops
from systemd_workload import SystemdWorkload

from blog_charm import ExampleBlogCharm


class ExampleBlogMachineCharm(ExampleBlogCharm):
    """ExampleBlog as a systemd service; ``remove`` cleans up what install put in place."""

    def __init__(self, framework: ops.Framework):
        self.systemd = SystemdWorkload()
        super().__init__(framework, self.systemd)
        framework.observe(self.on.remove, self._on_remove)

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        self.systemd.remove()


if __name__ == "__main__":  # pragma: no cover
    ops.main(ExampleBlogMachineCharm)
