"""The application layer: what each command does, as plain requests and results.

Front ends (the click commands in ``seldon_doctor.cli``) parse flags into a request, call the
use case (``run_scan``, ``run_trace``, ...) and render its result; nothing here imports click or
prints to stdout. Heavy modules are imported inside functions so ``--help`` stays instant.
"""
