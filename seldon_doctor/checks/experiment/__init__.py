"""Experiment checks (SD4xx), one module per check."""
