"""`zenlearn serve`: every run folder under a root in the browser, live — watch, start, stop, resume, compare.

A thin top layer beside `cli`: handlers read run folders through `zenlearn.io.rundir.RunDir`, start work
through `zenlearn.workflows.launch` (always a separate process), build the launch form from `TrainConfig`'s
fields and check it with `check_config`. `security.Guard` is the one middleware that keeps it local.
"""
