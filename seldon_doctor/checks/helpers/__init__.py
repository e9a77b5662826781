"""Helpers shared by several checks: ``common`` for every area, one themed module per area
for what several checks of that area share. A helper used by one check stays in its module."""
