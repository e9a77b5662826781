"""KServe facts the serving checks rely on (pure data)."""

from __future__ import annotations

#: The components of an InferenceService's spec, in the order KServe lists them.
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
