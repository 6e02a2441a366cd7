"""Process-wide test defaults: what the template's Globals give every function, for module-level objects
(Powertools Logger/Metrics) that a test process may build before any function environment exists."""

from __future__ import annotations

import os

for _key, _value in {"POWERTOOLS_SERVICE_NAME": "dunning", "POWERTOOLS_METRICS_NAMESPACE": "Dunning",
                     "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(_key, _value)
