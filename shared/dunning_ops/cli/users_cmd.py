"""``dunning users``: people who sign in to the API and the console (the stack's Cognito user pool)."""

from __future__ import annotations

import argparse
import getpass
import re
import secrets
import string

from dunning.app.deps import user_pool
from dunning.auth import Group
from dunning.store.identity import IdentityError
from dunning_ops.cli.common import Subparsers, add_command, add_group, target
from dunning_ops.cli.output import emit, fail

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def generated_password() -> str:
    """16 characters meeting the pool's policy (upper, lower, digit)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isupper() for c in pw) and any(c.islower() for c in pw) and any(c.isdigit() for c in pw):
            return pw


def cmd_users_add(args: argparse.Namespace) -> int:
    if not EMAIL.match(args.email):
        return fail(f"not an email address: {args.email!r}")
    username = args.username or args.email.lower()
    if "#" in username or any(c.isspace() for c in username):
        return fail("a user name may not contain '#' or spaces")
    password = args.password
    if password == "-":  # noqa: S105 - "read it from the terminal"
        password = getpass.getpass("password: ")
    generated = not password
    password = password or generated_password()
    t = target(args)
    pool = user_pool(t.output("UserPoolId"), t.output("UserPoolClientId"))
    try:
        created = pool.add_user(username, args.email, password, args.group)
    except IdentityError as exc:
        return fail(str(exc))
    data = {"username": username, "groups": args.group, "created": created,
            **({"password": password} if generated else {})}
    emit(args, data, lambda d: f"{'created' if created else 'updated'} user {username} in "
         f"{', '.join(args.group)}" + (f"; password: {password}" if generated else ""))
    return 0


def cmd_users_groups(args: argparse.Namespace) -> int:
    t = target(args)
    try:
        groups = user_pool(t.output("UserPoolId"), t.output("UserPoolClientId")).user_groups(args.username)
    except IdentityError as exc:
        return fail(str(exc))
    emit(args, {"username": args.username, "groups": groups}, lambda d: ", ".join(d["groups"]) or "no groups")
    return 0


def register(sub: Subparsers) -> None:
    users = add_group(sub, "users", "users who sign in to the API and the console (Cognito)")
    add = add_command(users, "add", cmd_users_add, "create a user (or reset its password) and add it to groups")
    add.add_argument("email", help="the user's email address (also the user name unless --username)")
    add.add_argument("--group", action="append", required=True, choices=[g.value for g in Group],
                     help="group to add the user to (repeatable)")
    add.add_argument("--password", default=None,
                     help="permanent password ('-' to type it; default: a generated one, printed once)")
    add.add_argument("--username", default=None,
                     help="user name, e.g. a collector's agent id (activities are assigned to user names)")
    grp = add_command(users, "groups", cmd_users_groups, "the groups a user is in")
    grp.add_argument("username")
