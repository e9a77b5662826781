"""Probe checks (SD8xx): what inference probes observed."""
