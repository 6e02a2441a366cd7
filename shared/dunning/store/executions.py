"""Starting a collections run: one Step Functions execution of the run state machine."""

from __future__ import annotations

import json
from datetime import date

from botocore.exceptions import ClientError

from dunning.aws import client
from dunning.errors import StoreError


class RunStarter:
    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def start(self, as_of: date, name: str) -> str:
        """Start the run for ``as_of``; returns the execution ARN. (The run itself takes the per-date lock: a
        second run for a date that is running ends without doing anything.)"""
        try:
            resp = client("stepfunctions").start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps({"as_of": as_of.isoformat()}))
        except ClientError as exc:
            raise StoreError(f"StartExecution failed: {exc.response['Error']['Code']}") from exc
        arn: str = resp["executionArn"]
        return arn
