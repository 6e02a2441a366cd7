"""Benchmarks (``make bench``): see tests/benchmarks/RESULTS.md and conftest.py."""

import os

# dunning.observability builds Powertools' Metrics / Logger once per process, at first import: give the
# in-process measurements the same settings the template gives every function.
for _key, _value in {"POWERTOOLS_SERVICE_NAME": "dunning", "POWERTOOLS_METRICS_NAMESPACE": "Dunning",
                     "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "INFO"}.items():
    os.environ.setdefault(_key, _value)
