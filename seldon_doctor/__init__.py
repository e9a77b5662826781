"""seldon-doctor: diagnose Seldon Core v2 deployments on Kubernetes."""

__version__ = "0.1.0"
