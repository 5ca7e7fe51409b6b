"""Replay and backfill: a window of the raw archive loaded back into the warehouse.

``window`` is the one window type, parsed one way for the CLI, replay, reconcile and the
backfill DAG (UTC-aware bounds, bounded size); ``loads`` names the window's archive objects in
a manifest and loads them into the backfill landing, which staging deduplicates against the
stream, so a window can be replayed any number of times.
"""
