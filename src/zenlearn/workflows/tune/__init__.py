"""Hyperparameter search and parallel, multi-machine experiments on Optuna (the `tune` extra).

`space` parses and checks `--search` specs, `storage` opens (and masks) storage URLs, `job` is one
trial, `workers` runs N processes on one study, `study` is `zenlearn tune` end to end and `outputs`
writes its files.
"""

from zenlearn.workflows.tune.space import Param, parse_search
from zenlearn.workflows.tune.study import TuneResult, run_tune

__all__ = ["Param", "TuneResult", "parse_search", "run_tune"]
