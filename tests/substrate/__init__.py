"""Tests against real service managers: systemd in a booted container, and Pebble."""
