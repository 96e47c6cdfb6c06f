"""The package version, in a module of its own so that any layer can read it without importing
the package __init__ (the public API, which sits at the top of the layers)."""

from __future__ import annotations

__version__ = "0.1.0"
