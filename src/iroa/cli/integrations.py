"""``iroa integration …``: add, list, update, test and remove integrations."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from iroa.cli.context import get_context
from iroa.cli.output import print_json, print_table, print_warning, say
from iroa.connectors.registry import check_connection
from iroa.integrations.models import Integration
from iroa.integrations.service import (
    IntegrationError,
    IntegrationInput,
    IntegrationUpdate,
    add_integration,
    connection_options,
    get_integration,
    integration_as_dict,
    list_integrations,
    transport_warnings,
    update_integration,
)
from iroa.integrations.watchers import watchers_by_integration
from iroa.sync.forget import remove_integration
from iroa.vocabulary import IntegrationKind, Transport

app = typer.Typer(help="Manage the systems IROA reads.", no_args_is_help=True)

# Options `add` and `update` share, defined once so that they cannot drift apart.
PresetOption = Annotated[
    str | None,
    typer.Option(help="Prometheus: node_exporter (default), windows_exporter, vmware_exporter"),
]
LabelOption = Annotated[
    str | None, typer.Option(help="Prometheus: the label that names the object")
]
JoinOption = Annotated[
    str | None,
    typer.Option(help="Prometheus: what the label holds: name, hostname, ip, uuid"),
]
QueryOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Prometheus: METRIC=PROMQL (cpu_pct, memory_pct, disk_bytes_per_s, "
        "net_bytes_per_s); repeatable"
    ),
]
HistoryHoursOption = Annotated[
    int | None, typer.Option(help="Prometheus: hours of history kept [default: 24]")
]
HistoryStepOption = Annotated[
    int | None, typer.Option(help="Prometheus: seconds between history points [default: 3600]")
]
MatchOption = Annotated[
    str | None,
    typer.Option(help="Zabbix: match order, e.g. host,name,dns,ip (the default)"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    kind: Annotated[IntegrationKind, typer.Argument(help="IntegrationKind of system")],
    name: Annotated[str, typer.Argument(help="A unique name")],
    url: Annotated[str, typer.Option(help="e.g. https://vcenter.example.com")],
    username: Annotated[str | None, typer.Option(help="Login name")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input"
        ),
    ] = False,
    ca_file: Annotated[str | None, typer.Option(help="PEM bundle of CAs to trust")] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            help="Do not verify the TLS certificate (logged as a warning on every connection)"
        ),
    ] = False,
    transport: Annotated[Transport | None, typer.Option(help="WinRM auth transport")] = None,
    kerberos_delegation: Annotated[
        bool,
        typer.Option(
            "--kerberos-delegation",
            help="Hyper-V with --transport kerberos: let the host pass IROA's ticket on "
            "(needed for a failover cluster)",
        ),
    ] = False,
    interval: Annotated[
        int | None, typer.Option(help="Auto-sync interval in seconds (0 = off)")
    ] = None,
    sync_timeout: Annotated[
        int | None,
        typer.Option(help="Seconds a sync may spend connecting and collecting [default: 1800]"),
    ] = None,
    token_stdin: Annotated[
        bool,
        typer.Option(
            "--token-stdin",
            help="Prometheus/Zabbix: read an API (bearer) token from standard input instead",
        ),
    ] = False,
    preset: PresetOption = None,
    label: LabelOption = None,
    join: JoinOption = None,
    query: QueryOption = None,
    history_hours: HistoryHoursOption = None,
    history_step: HistoryStepOption = None,
    match: MatchOption = None,
    watch: Annotated[
        bool | None,
        typer.Option(
            "--watch/--no-watch",
            help="vCenter: keep it current from its change feed [default: on for vCenter]",
        ),
    ] = None,
) -> None:
    """Add an integration. The password or token is stored encrypted and never shown again."""
    context = get_context(ctx)
    password = read_secret(password_stdin, token_stdin)
    monitoring = monitoring_settings(preset, label, join, query, history_hours, history_step, match)
    integration = add_integration(
        context.db,
        context.box,
        IntegrationInput(
            kind=kind.value,
            name=name,
            url=url,
            username=username,
            password=password,
            ca_file=ca_file,
            insecure=insecure,
            transport=transport.value if transport else None,
            interval_seconds=interval,
            sync_timeout_s=sync_timeout,
            token=token_stdin,
            monitoring=monitoring,
            watch=watch,
            kerberos_delegation=kerberos_delegation,
        ),
        min_interval_s=context.settings.min_sync_interval_s,
    )
    say(f"added {integration.kind} integration {integration.name!r}")
    warn_about_transport(integration)


@app.command("update")
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Integration name")],
    url: Annotated[str | None, typer.Option(help="A new URL")] = None,
    username: Annotated[str | None, typer.Option(help="A new login name")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read a new password from the first line of standard input"
        ),
    ] = False,
    token_stdin: Annotated[
        bool,
        typer.Option(
            "--token-stdin", help="Prometheus/Zabbix: read a new API (bearer) token instead"
        ),
    ] = False,
    ca_file: Annotated[str | None, typer.Option(help="PEM bundle of CAs to trust")] = None,
    insecure: Annotated[
        bool | None,
        typer.Option("--insecure/--verify", help="Stop or start verifying the TLS certificate"),
    ] = None,
    transport: Annotated[Transport | None, typer.Option(help="WinRM auth transport")] = None,
    kerberos_delegation: Annotated[
        bool | None,
        typer.Option(
            "--kerberos-delegation/--no-kerberos-delegation",
            help="Hyper-V over Kerberos: let the host pass IROA's ticket on (clusters)",
        ),
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Auto-sync interval in seconds (0 = off)")
    ] = None,
    sync_timeout: Annotated[
        int | None, typer.Option(help="Seconds a sync may spend connecting and collecting")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Run automatic syncs or not")
    ] = None,
    watch: Annotated[
        bool | None,
        typer.Option("--watch/--no-watch", help="vCenter: keep it current from its change feed"),
    ] = None,
    preset: PresetOption = None,
    label: LabelOption = None,
    join: JoinOption = None,
    query: QueryOption = None,
    history_hours: HistoryHoursOption = None,
    history_step: HistoryStepOption = None,
    match: MatchOption = None,
) -> None:
    """Change an integration's settings; options left out stay as they are.

    The options are those of `iroa integration add`, checked the same way. The
    stored password or token is kept unless a new one is given, and it goes
    only where it was entered for: a new URL, CA file, --insecure/--verify or
    transport needs it again (--password-stdin or --token-stdin). Prometheus and
    Zabbix settings change one by one: --label alone keeps the preset, the other
    queries and the history; --query METRIC=PROMQL replaces that metric's query only.
    """
    context = get_context(ctx)
    password = read_secret(password_stdin, token_stdin)
    monitoring = monitoring_settings(preset, label, join, query, history_hours, history_step, match)
    integration = get_integration(context.db, name)
    warned = transport_warnings(integration)
    updated = update_integration(
        context.db,
        context.box,
        integration.id,
        IntegrationUpdate(
            url=url,
            username=username,
            password=password,
            ca_file=ca_file,
            insecure=insecure,
            transport=transport.value if transport else None,
            interval_seconds=interval,
            enabled=enabled,
            sync_timeout_s=sync_timeout,
            token=token_stdin if password is not None else None,
            watch=watch,
            kerberos_delegation=kerberos_delegation,
            monitoring_changes=monitoring or None,
        ),
        min_interval_s=context.settings.min_sync_interval_s,
    )
    say(f"updated {integration.kind} integration {integration.name!r}")
    warn_about_transport(updated, already=warned)


def monitoring_settings(
    preset: str | None,
    label: str | None,
    join: str | None,
    query: list[str] | None,
    history_hours: int | None,
    history_step: int | None,
    match: str | None,
) -> dict[str, object]:
    """The Prometheus/Zabbix settings the options give (those left out are not in it)."""
    settings: dict[str, object] = {
        "preset": preset,
        "label": label,
        "join": join,
        "history_hours": history_hours,
        "history_step_s": history_step,
        "match": match,
    }
    if query:
        queries: dict[str, str] = {}
        for item in query:
            metric, sep, expr = item.partition("=")
            if not sep:
                raise IntegrationError(f"--query {item!r}: expected METRIC=PROMQL")
            queries[metric.strip()] = expr
        settings["queries"] = queries
    return {key: value for key, value in settings.items() if value is not None}


def warn_about_transport(integration: Integration, already: Sequence[str] = ()) -> None:
    """Say at once, on standard error, what the server log would only say at each connection
    (but what the integration's settings ``already`` gave before an update: said then)."""
    for warning in transport_warnings(integration):
        if warning not in already:
            print_warning(warning)


def read_secret(password_stdin: bool, token_stdin: bool) -> str | None:
    """The password or token on the first line of standard input, if a flag asks for it."""
    if password_stdin and token_stdin:
        raise IntegrationError("--password-stdin and --token-stdin exclude each other")
    if not (password_stdin or token_stdin):
        return None
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        flag = "--token-stdin" if token_stdin else "--password-stdin"
        raise IntegrationError(f"{flag} was given but standard input was empty")
    return secret


@app.command("list")
def list_command(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List integrations."""
    db = get_context(ctx).db
    watchers = watchers_by_integration(db)
    rows = [integration_as_dict(i, watchers.get(i.id)) for i in list_integrations(db)]
    if json_output:
        print_json(rows)
        return
    print_table(
        rows,
        [
            ("name", "Name"),
            ("kind", "IntegrationKind"),
            ("url", "URL"),
            ("username", "User"),
            ("has_secret", "Secret"),
            ("interval_seconds", "Interval (s)"),
            ("watch_state", "Watcher"),
            ("last_success_at", "Last success"),
        ],
        empty="No integrations yet: add one with `iroa integration add`.",
    )


@app.command("test")
def test(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Integration name")]) -> None:
    """Connect and log in; report what answered. Exit 0 only if that worked."""
    context = get_context(ctx)
    integration = get_integration(context.db, name)
    info = check_connection(integration.kind, connection_options(integration, context.box))
    version = " ".join(
        v for v in (info.version, f"build {info.build}" if info.build else None) if v
    )
    say(f"ok: {info.name} — {info.product}" + (f" ({version})" if version else ""))
    if info.object_counts:
        say(", ".join(f"{count} {kind}" for kind, count in info.object_counts.items()))


@app.command("remove")
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Integration name")]
) -> None:
    """Remove an integration with its inventory and history."""
    remove_integration(get_context(ctx).db, name)
    say(f"removed integration {name!r}")
