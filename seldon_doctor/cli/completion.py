"""``seldon-doctor completion``: the shell completion script."""

from __future__ import annotations

import sys

import click


@click.command(short_help="Shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    bash:  eval "$(seldon-doctor completion bash)"     (e.g. in ~/.bashrc)
    zsh:   eval "$(seldon-doctor completion zsh)"      (e.g. in ~/.zshrc)
    fish:  seldon-doctor completion fish > ~/.config/fish/completions/seldon-doctor.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    root = ctx.find_root().command  # the seldon-doctor group (cli.root), without importing it
    sys.stdout.write(cls(root, {}, "seldon-doctor", "_SELDON_DOCTOR_COMPLETE").source() + "\n")
