"""Helpers shared by several checks that came from ``checks/serving.py``.

Model serving beyond Seldon's CRs: plain model-server Deployments, Istio canaries, KServe.
"""

from __future__ import annotations

KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
