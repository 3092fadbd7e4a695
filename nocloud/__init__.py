"""A Juju unit without a cloud: systemd booted in a container, Pebble in an emulated pod.

See README.md: what it emulates, what not, and how a charm's tests use it.
"""
