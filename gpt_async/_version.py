"""The package version, read by hatchling and the User-Agent."""

__version__ = "0.1.0"
