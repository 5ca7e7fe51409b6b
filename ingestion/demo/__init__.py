"""The simulator and the end-to-end demo.

``simulator`` turns operating profiles into the exact bytes the sources would send, faults
included, and knows what the pipeline must make of them; ``pipeline`` runs producer, lander,
archiver and the minute refresh together; ``run`` is `accfb demo` and ``report`` its report.
"""
