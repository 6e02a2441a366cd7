"""``dunning mail``: inbound customer mail. ``drop`` puts a raw ``.eml`` where the stack's SES receipt rule writes
received mail (the active rule set's S3 action), so it goes the way a received mail goes: S3, the queue, the
inbound-mail function. On the local stack that is the only way mail arrives (moto's SES never receives); on AWS it
tests the path without sending real mail. ``rejected`` lists the mail that was refused, with the reason."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dunning_ops.cli.common import CliError, Subparsers, add_command, add_group, target
from dunning_ops.cli.output import emit, table
from dunning_ops.local.mail import MailDropError, drop_mail


def cmd_mail_drop(args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    t = target(args)
    try:
        dropped = drop_mail(t.client("ses"), t.client("s3"), raw, recipients=args.to or (), sender=args.sender)
    except MailDropError as exc:
        raise CliError(str(exc)) from exc
    data = {"bucket": dropped.bucket, "key": dropped.key, "rule": dropped.rule, "recipients": dropped.recipients}
    emit(args, data, lambda d: f"dropped s3://{d['bucket']}/{d['key']} (receipt rule {d['rule']}, "
         f"for {', '.join(d['recipients'])})")
    return 0


def cmd_mail_rejected(args: argparse.Namespace) -> int:
    from dunning.store.inbound_mail import InboundMailStore

    t = target(args)
    records = InboundMailStore(t.output("InboundMailBucketName")).rejections(limit=args.limit)
    rows = [r.model_dump(mode="json") for r in records]
    emit(args, rows, lambda d: table(d, ["rejected_at", "code", "reason", "key"]) if d else "no rejected mail")
    return 0


def register(sub: Subparsers) -> None:
    mail = add_group(sub, "mail", "inbound customer mail (SES receipt rule -> S3 -> queue -> function)")
    drop = add_command(mail, "drop", cmd_mail_drop,
                       "drop a raw .eml where the SES receipt rule writes received mail (then it is processed)")
    drop.add_argument("file", help="the raw mail (.eml); '-' reads standard input")
    drop.add_argument("--to", action="append", default=None,
                      help="envelope recipient (repeatable; default: the mail's To and Cc addresses)")
    drop.add_argument("--from", dest="sender", default="", help="envelope sender (default: the mail's From)")
    rejected = add_command(mail, "rejected", cmd_mail_rejected, "mail refused (oversized, malformed, looping), why")
    rejected.add_argument("--limit", type=int, default=50, help="at most this many, newest first (default 50)")
