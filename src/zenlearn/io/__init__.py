"""Files: atomic writes, safe unpickling, weights and checkpoints, and the run folder's layout."""
