"""Logger, Tracer and Metrics: created once, configured by the template's POWERTOOLS_* variables.

The defaults below only apply where those variables are absent (a process that imported this module
before any function environment existed, such as the embedded stack's test process); on Lambda the
template's Globals always set them.

Log lines carry ids (account, contact, invoice, event), never names, emails, phones or addresses.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME") or "dunning"
NAMESPACE = os.getenv("POWERTOOLS_METRICS_NAMESPACE") or "Dunning"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
