"""Many runs at once, for every workflow: worker processes on one Optuna storage (the `tune` extra).

`workers` starts N processes (threads per worker, the start method, a graceful stop, the caller's torch
threads / Optuna verbosity / warning filters restored after an in-process run); `cells` runs a plan of
independent cells (compare's grid, distill's sweep, reproduce's experiments) in-process or spread over those
processes and machines; `storage` opens a storage URL, `urls` masks its password, and `outage` tells a
database outage from a wrong setting and waits it out. `zenlearn tune` (`workflows/tune/`) is built on them.
"""
