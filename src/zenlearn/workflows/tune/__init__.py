"""Hyperparameter search on Optuna (the `tune` extra), parallel and multi-machine through `workflows.parallel`.

`space` parses and checks `--search` specs, `job` is one trial, `study` is `zenlearn tune` end to end and
`outputs` writes its files. The worker processes, storage and outage handling are `workflows/parallel/`.
"""

from zenlearn.workflows.tune.space import Param, parse_search
from zenlearn.workflows.tune.study import TuneResult, run_tune

__all__ = ["Param", "TuneResult", "parse_search", "run_tune"]
