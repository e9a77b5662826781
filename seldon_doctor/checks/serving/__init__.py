"""Serving checks (SD7xx): images, canaries, InferenceServices, shared schedulers."""
