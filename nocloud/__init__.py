"""A Juju unit without a cloud: systemd booted in a container, Pebble in an emulated pod."""
