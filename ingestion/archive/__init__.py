"""The raw archive: every stream record kept once, immutable, for a year.

``format`` is the archive line and Firehose's transform Lambda (standard library only: the
archive stack ships it alone); ``keys`` is the one home of the archive's layout
(``raw/source=…/date=…/hour=…/``) and of listing it; ``archiver`` is the local stand-in for
Firehose, whose checkpoint is the objects already written, never overwritten.
"""
