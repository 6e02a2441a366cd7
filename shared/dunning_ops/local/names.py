"""The local stack's fixed names: region, account, stack, code bucket and dummy credentials."""

from __future__ import annotations

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "dunning-local"
CODE_BUCKET = "dunning-local-code"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}
