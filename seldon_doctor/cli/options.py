"""Option groups shared by several commands, and the option values they parse.

:func:`apply_options` is the one way a group is applied: the options are listed in the order
``--help`` shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click
from click.shell_completion import CompletionItem

from seldon_doctor.render import FORMATS

FAIL_ON = ("error", "warning", "info", "never")
MIN_SEVERITY = ("error", "warning", "info")
GRAPH_FORMATS = ("dot", "mermaid", "json", "graphml", "svg")


def apply_options(func: Any, options: Sequence[Callable[[Any], Any]]) -> Any:
    """Decorate ``func`` with click options, listed in the order ``--help`` shows them."""
    for option in reversed(options):
        func = option(func)
    return func


def request_target_options(func: Any) -> Any:
    """NAME's namespace and kind: what trace and probe send their request to."""
    options = [
        click.option(
            "-n",
            "--namespace",
            default="default",
            show_default=True,
            metavar="NS",
            help="The namespace NAME is in (and whose seldon-mesh the request goes through); "
            "with -f, also the namespace of objects that name none.",
        ),
        click.option(
            "--kind",
            type=click.Choice(("model", "experiment", "pipeline")),
            default="model",
            show_default=True,
            help="What NAME is: sets seldon-model to NAME, NAME.experiment or NAME.pipeline.",
        ),
    ]
    return apply_options(func, options)


def live_options(func: Any) -> Any:
    """Options of a live scan (``scan`` and ``snapshot``)."""
    options = [
        click.option(
            "--kubeconfig",
            metavar="PATH",
            help="Kubeconfig (default: KUBECONFIG, "
            "~/.kube/config, or the in-cluster service account).",
        ),
        click.option(
            "--context",
            "contexts",
            multiple=True,
            metavar="NAME",
            help="Kubeconfig context to scan. Repeatable: clusters are scanned "
            "concurrently and every finding names its cluster.",
        ),
        click.option("--all-contexts", is_flag=True, help="Scan every context of the kubeconfig."),
        click.option(
            "--timeout",
            type=click.FloatRange(0.5, 3600),
            default=60.0,
            show_default=True,
            metavar="SECONDS",
            help="Deadline for reading a cluster; what is not read by then is reported as a gap.",
        ),
        click.option(
            "--logs",
            is_flag=True,
            help="Also tail scheduler, agent, controller and "
            "Envoy logs for evidence (needs get on pods/log).",
        ),
        click.option(
            "--dataplane",
            is_flag=True,
            help="Also read each Envoy (admin 9901) and "
            "scheduler (9004, 9002) through API-server port-forwards (needs create "
            "on pods/portforward).",
        ),
    ]
    return apply_options(func, options)


NAMESPACE_OF_FILES = (
    "The namespace of objects that name none (as kubectl apply -n; default 'default')."
)


def input_options(func: Any) -> Any:
    """Offline inputs of ``scan``: files, Envoy dumps, -n (files and live), the demo, CRDs."""
    return _input_options(
        "Files: the namespace of objects that name none (as kubectl apply -n; default "
        "'default'). Live: report only these namespaces and what they depend on (their "
        "controller, scheduler and Envoy namespaces; repeatable; default all).",
        "Scan the bundled demo cluster instead.",
    )(func)


def file_input_options(func: Any) -> Any:
    """The inputs of ``graph``, which reads files or the demo only (never a cluster)."""
    return _input_options(NAMESPACE_OF_FILES, "Draw the bundled demo cluster instead.")(func)


def _input_options(namespace_help: str, demo_help: str) -> Callable[[Any], Any]:
    options = [
        click.option(
            "-f",
            "--filename",
            "files",
            multiple=True,
            metavar="PATH",
            help="Manifest file, directory (walked recursively) or - for stdin. Repeatable.",
        ),
        click.option(
            "--envoy-config-dump",
            "envoy_dumps",
            multiple=True,
            metavar="[NAMESPACE=]PATH",
            help="An Envoy /config_dump, one per Envoy instance, with the namespace it runs in.",
        ),
        click.option(
            "-n",
            "--namespace",
            "namespaces",
            multiple=True,
            metavar="NS",
            help=namespace_help,
        ),
        click.option("--demo", is_flag=True, help=demo_help),
        click.option(
            "--crds",
            multiple=True,
            metavar="PATH",
            help="CustomResourceDefinitions (file or folder) to validate manifests against.",
        ),
    ]
    return lambda func: apply_options(func, options)


def dataplane_options(func: Any) -> Any:
    """The data plane read by address (``scan`` and ``trace``)."""
    options = [
        click.option(
            "--envoy-admin",
            "envoy_admin",
            multiple=True,
            metavar="[NAMESPACE=]URL",
            help="An Envoy admin address (e.g. a port-forward to 9901): read /config_dump, "
            "/ready and the no_route counter live. Repeatable.",
        ),
        click.option(
            "--scheduler",
            "schedulers",
            multiple=True,
            metavar="[NAMESPACE=]HOST:PORT",
            help="A scheduler's status API (9004): compare its view with the CRs. Repeatable.",
        ),
        click.option(
            "--scheduler-xds",
            "scheduler_xds",
            multiple=True,
            metavar="[NAMESPACE=]HOST:PORT",
            help="A scheduler's xDS server (9002): compare what it serves with each Envoy.",
        ),
        click.option(
            "--dataplane-timeout",
            type=click.FloatRange(0.1, 600),
            default=5.0,
            show_default=True,
            metavar="SECONDS",
            help="Deadline for each Envoy admin, scheduler or xDS read.",
        ),
    ]
    return apply_options(func, options)


def parse_outputs(values: Sequence[str]) -> list[tuple[str, str | None]]:
    """``-o FORMAT[=PATH]`` (repeatable, comma-separated) -> (format, path or None)."""
    outputs = []
    for value in values or ("table",):
        for part in value.split(","):
            fmt, _, path = part.partition("=")
            fmt = fmt.strip().lower()
            if fmt not in FORMATS:
                raise click.UsageError(
                    f"unknown output format {fmt!r} (choose from {', '.join(sorted(FORMATS))})"
                )
            outputs.append((fmt, path or None))
    on_stdout = [fmt for fmt, path in outputs if path is None]
    if len(on_stdout) > 1:
        # Two formats on one stream are one unparseable stream (JSON then SARIF).
        raise click.UsageError(
            f"{' and '.join(on_stdout)} would both go to standard output: write all but one "
            "to a file (-o FORMAT=PATH)"
        )
    return outputs


# ------------------------------------------------------------------ shell completion


def _complete_list(
    incomplete: str, items: Sequence[tuple[str, str | None]]
) -> list[CompletionItem]:
    """Complete the last item of a comma-separated value (``SD501,SD6`` -> ``SD501,SD601``)."""
    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    return [
        CompletionItem(prefix + value, help=about)
        for value, about in items
        if value.lower().startswith(last.lower())
    ]


def complete_checks(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Check ids and slugs, with their titles (``--select``, ``--ignore``, ``explain``)."""
    from seldon_doctor.catalog import load_docs

    docs = sorted(load_docs().values(), key=lambda d: d.id)
    items = [(d.id, d.title) for d in docs] + [(d.slug, d.id) for d in docs]
    if param.param_type_name == "argument":  # explain takes one check, no list
        return [
            CompletionItem(v, help=h) for v, h in items if v.lower().startswith(incomplete.lower())
        ]
    return _complete_list(incomplete, items)


def complete_outputs(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``-o FORMAT[=PATH]``: format names, and ``FORMAT=`` to name a file."""
    if "=" in incomplete.rpartition(",")[2]:
        return [CompletionItem(incomplete.rpartition("=")[2], type="file")]
    items: list[tuple[str, str | None]] = []
    for fmt in FORMATS:
        items += [(fmt, "to standard output"), (f"{fmt}=", "to a file: FORMAT=PATH")]
    return _complete_list(incomplete, items)
