"""Stub of `pbr` (not installable offline). sinabs/__init__.py only uses
pbr.version.VersionInfo(...).release_string() to fill __version__."""
