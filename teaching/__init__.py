"""Teaching material: the designs the guidance warns against, their tests, and a bench.

``designs.py`` holds the nine designs the guidance discusses in place of the
stateless reconcile, ``tests/`` shows each failing where
``docs/stateless-reconcile.md`` says it does, and ``bench.py`` runs them and
this charm through one script. It is here to explain the
pattern, not to run it: no charm packs or imports it, and the unit tier
collects its tests only while it exists. A charm made from this template can
drop it in one step, and every remaining tier stays green::

    rm -r teaching tests/substrate/test_designs.py

(the second path is its real-substrate test, which needs that tier's
fixtures and so lives with them).
"""
