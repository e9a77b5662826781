"""Control-plane checks (SD5xx), one module per check.

Named ``control_plane`` while the legacy module ``checks/controlplane.py`` exists: a package
and a module of one name cannot live side by side. When that module becomes the package
``checks/controlplane/``, these modules move there unchanged.
"""
