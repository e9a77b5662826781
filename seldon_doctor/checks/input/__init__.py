"""Input checks (SD0xx): the manifests themselves, before any Seldon semantics."""
