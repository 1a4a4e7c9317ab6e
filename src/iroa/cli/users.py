"""``iroa user add``, ``iroa user unlock`` and ``iroa token create|list|revoke``: people and
their API tokens."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from iroa.audit.service import CLI_ACTOR
from iroa.auth.service import UserError
from iroa.auth.tokens import create_token, find_token, list_tokens, revoke_token
from iroa.auth.users import create_user, generate_password, unlock_user
from iroa.auth.users import get_user_by_name as find_user
from iroa.cli.context import get_context
from iroa.cli.output import print_json, print_table, say

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    viewer = "viewer"


@user_app.command("add")
def add_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[Role, typer.Option(help="What the user may do")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input "
            "(else one is generated and printed once)",
        ),
    ] = False,
) -> None:
    """Add a user. Without --password-stdin a password is generated and printed once."""
    context = get_context(ctx)
    generated = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin was given but standard input was empty")
    else:
        generated = password = generate_password()
    user = create_user(context.db, CLI_ACTOR, name, role.value, password)
    typer.echo(f"added {user.role} {user.username!r}")
    if generated is not None:
        typer.echo(f"password (shown once): {generated}")


@user_app.command("unlock")
def unlock(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name")],
) -> None:
    """Lift the login throttling of user NAME, from every address, at once."""
    context = get_context(ctx)
    cleared = unlock_user(context.db, CLI_ACTOR, name)
    if cleared:
        typer.echo(f"unlocked {name!r}: its failed logins are forgotten")
    else:
        typer.echo(f"{name!r} had no failed logins to forget")


@token_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user the token is for")],
    label: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Create an API token for user NAME and print it once."""
    context = get_context(ctx)
    user = find_user(context.db, name)
    issued = create_token(context.db, CLI_ACTOR, user.id, label)
    typer.echo(issued.secret)


@token_app.command("list")
def list_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="Only this user's tokens")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List API tokens, newest first (never the tokens themselves: the prefix tells them
    apart)."""
    context = get_context(ctx)
    user_id = find_user(context.db, user).id if user is not None else None
    rows = list_tokens(context.db, user_id)
    if json_output:
        print_json(rows)
        return
    print_table(
        rows,
        [
            ("id", "Id"),
            ("username", "User"),
            ("name", "Name"),
            ("prefix", "Prefix"),
            ("created_at", "Created"),
            ("expires_at", "Expires"),
            ("last_used_at", "Last used"),
            ("revoked_at", "Revoked"),
        ],
        empty="No API tokens yet: create one with `iroa token create USER`.",
    )


@token_app.command("revoke")
def revoke(
    ctx: typer.Context,
    token: Annotated[
        str, typer.Argument(metavar="NAME|ID", help="The token's id, or the name of a live token")
    ],
    user: Annotated[
        str | None, typer.Option(help="Look the name up among this user's tokens only")
    ] = None,
) -> None:
    """Revoke an API token at once (the API refuses it from the next request on).

    A number is the token's id (see `iroa token list`); anything else is the name
    of a live token, which must be the only one so named (of --user, if given).
    """
    context = get_context(ctx)
    found = find_token(context.db, token, user)
    what = f"token {found['id']} ({found['name']!r} of {found['username']})"
    if found["revoked_at"] is not None:
        say(f"{what} was already revoked")
        return
    revoke_token(context.db, CLI_ACTOR, found["id"])
    say(f"revoked {what}")
