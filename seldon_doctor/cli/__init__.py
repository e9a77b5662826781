"""Command line: thin click commands over the application layer (``seldon_doctor.app``).

One module per command or small group (``scan``, ``trace``, ``graph``, ``catalog`` for
checks/explain, ``snapshot``, ``probe``, ``completion``); shared options in ``options``, output
and stderr in ``output``, the exit-code mapping of every failure in ``entry.main``. Modules
import only click (and light project modules) at import time, so ``--help`` stays instant.
"""

from seldon_doctor.cli.entry import main
from seldon_doctor.cli.root import cli

__all__ = ["cli", "main"]
