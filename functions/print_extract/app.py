"""Collections run, last step: once the run's letters are rendered, build the print extract for the vendor."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from dunning.observability import MetricUnit, logger, metrics, tracer
from dunning.print_extract import ExtractDeps, PrintExtractInput, extract_when_ready
from dunning.settings import Settings
from dunning.store.blobs import Blobs
from dunning.store.contacts import ContactsRepository
from dunning.store.ledger import LedgerRepository


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=PrintExtractInput)
def handler(event: PrintExtractInput, context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_env()
    logger.append_keys(run_id=event.run_id)
    deps = ExtractDeps(contacts=ContactsRepository(settings.contacts_table), letters=Blobs(settings.letters_bucket),
                       ledger=LedgerRepository(settings.ledger_table))
    # poll inside this invocation for most of its time budget, keeping two minutes for the extract itself
    poll_for = min(settings.print_extract_poll_seconds, max(0.0, context.get_remaining_time_in_millis() / 1000 - 120))
    result = extract_when_ready(event, deps, max_attempts=settings.print_extract_max_attempts,
                                wait_seconds=settings.print_extract_wait_seconds, poll_for=poll_for)
    logger.info("print extract", extra={k: v for k, v in result.items() if k != "files"})
    metrics.add_metric(name="LettersExtracted", unit=MetricUnit.Count, value=result.get("letters", 0))
    return result
