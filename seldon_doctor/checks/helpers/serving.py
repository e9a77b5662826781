"""What several serving checks (SD7xx) share.

Model serving beyond Seldon's CRs: plain model-server Deployments, Istio canaries, KServe.
"""

from __future__ import annotations

KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
