"""Batch exports: the CRM's donor exports and the processors' settlement CSVs.

``loads`` loads each version of a file dropped under the raw bucket's ``landing/`` prefixes once
into its lander table (a version is its key and ETag, kept in ``lander.batch_export_ledger``):
an unchanged file is skipped before any COPY, a file rewritten under its key replaces its earlier
version and alerts, a file whose header or values do not fit is refused with its reason while
the other files still load, and a warehouse or network error is retried, never a refusal.
"""
