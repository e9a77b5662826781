"""Server checks (SD2xx), one module per check."""
