"""The `Trainer` (fit / evaluate / predict), its callbacks, tasks, resumable checkpoints and data parallelism."""
