"""Logger, Tracer and Metrics: created once, configured by the template's POWERTOOLS_* variables.

Log lines carry ids (account, contact, invoice, event), never names, emails, phones or addresses.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
