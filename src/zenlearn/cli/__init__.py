"""The `zenlearn` command line (entry point `zenlearn.cli:main`)."""

from zenlearn.cli.main import main

__all__ = ["main"]
