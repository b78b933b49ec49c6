"""zoning: find and explain medical deserts ("zones rouges") per EPCI from open data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zoning")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
