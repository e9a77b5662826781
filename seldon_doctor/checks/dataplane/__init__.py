"""Data-plane checks (SD6xx): what Envoy and the scheduler actually serve."""
