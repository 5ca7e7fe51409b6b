"""Batch exports: the CRM's donor exports and the processors' settlement CSVs.

``loads`` loads each file dropped under the raw bucket's ``landing/`` prefixes once into its
lander table, refusing a file whose header or values do not fit with its reason while the other
files still load.
"""
