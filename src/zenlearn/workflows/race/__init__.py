"""The lab's race: 2 to 6 lanes of one base config trained side by side in one process from the same start,
with live curves, learning-rate changes, rewinds and decision boundaries, ending as a comparison folder.

`spec.py` says what a race is (`RaceSpec`), `run.py` runs it (`run_race`), `turns.py` takes the lanes in turn,
`lane.py` is each lane's callback, `boundary.py` draws decision boundaries on 2-D data and `control.py` carries
the page's commands (`send_command`) to the running race.
"""

from zenlearn.workflows.race.control import send_command
from zenlearn.workflows.race.run import run_race
from zenlearn.workflows.race.spec import MAX_LANES, RaceSpec

__all__ = ["MAX_LANES", "RaceSpec", "run_race", "send_command"]
