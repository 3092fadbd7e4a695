"""The teaching material's own unit tests, run with the unit tier while ``teaching/`` exists."""
