"""Data-plane checks (SD6xx), one module per check.

Named ``data_plane`` while the legacy module ``checks/dataplane.py`` exists: a package and a
module of one name cannot live side by side. When that module becomes the package
``checks/dataplane/``, these modules move there unchanged.
"""
