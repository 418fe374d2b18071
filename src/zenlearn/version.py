"""The package version (one place; `zenlearn --version`, reports and summaries read it)."""

__version__ = "0.1.0"
