"""Hyperparameter search and parallel, multi-machine experiments on Optuna (the `tune` extra).

`space` parses and checks `--search` specs, `urls` masks storage URLs, `storage` opens them, `outage`
tells a database outage from a wrong setting and waits it out, `job` is one trial, `workers` runs N
processes on one study, `study` is `zenlearn tune` end to end and `outputs` writes its files.
"""

from zenlearn.workflows.tune.space import Param, parse_search
from zenlearn.workflows.tune.study import TuneResult, run_tune

__all__ = ["Param", "TuneResult", "parse_search", "run_tune"]
