"""Progress lines for long work: units done out of the total, elapsed time and an ETA, and a
heartbeat while a unit runs, so that no step is silent for long.

Lines go straight to stderr: inside a Prefect flow with `log_prints`, print() goes to the
run logger at INFO, which the offline profile's PREFECT_LOGGING_LEVEL=WARNING hides.
"""

import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

HEARTBEAT_S = 20.0  # a line at least this often: the demo's bound on silence is 30 s


def say(line: str) -> None:
    """Write one progress line to stderr at once."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def eta_seconds(elapsed_s: float, done_weight: float, total_weight: float) -> float | None:
    """Seconds left if the remaining work goes at the pace of the work done (None before
    any is done)."""
    if done_weight <= 0:
        return None
    return elapsed_s * (total_weight - done_weight) / done_weight


def duration(seconds: float) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Steps:
    """Units of work of one kind ('trained', 'labeled') reported as they finish, with a
    heartbeat naming what still runs when no unit has finished for `heartbeat_s`.

    `weights` (one per unit, in the order of `names`) are their expected costs, for the
    ETA; equal weights when not given."""

    def __init__(
        self,
        what: str,
        names: Sequence[str],
        weights: Sequence[float] | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        write: Callable[[str], None] = say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.names = what, list(names)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.names)
        if len(self.weights) != len(self.names):
            raise ValueError(f"{len(self.weights)} weights for {len(self.names)} units")
        self.heartbeat_s, self.write, self.clock = heartbeat_s, write, clock
        self.done_names: list[str] = []
        self._done_weight = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = self._last_line = clock()

    def __enter__(self) -> "Steps":
        self.started = self._last_line = self.clock()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def done(self, index: int, note: str = "") -> None:
        """Unit `index` (of `names`) finished; `note` is added to its line."""
        with self._lock:
            self.done_names.append(self.names[index])
            self._done_weight += self.weights[index]
            self._line(f"{self.names[index]}{f' ({note})' if note else ''}")

    def heartbeat(self) -> None:
        """A line naming what is not done yet, if none was written for `heartbeat_s`."""
        with self._lock:
            if self.clock() - self._last_line < self.heartbeat_s:
                return
            done = set(self.done_names)
            waiting = [n for n in self.names if n not in done]
            shown = ", ".join(waiting[:3]) + (
                f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
            )
            self._line(f"still running: {shown}")

    def _line(self, tail: str) -> None:
        elapsed = self.clock() - self.started
        eta = eta_seconds(elapsed, self._done_weight, sum(self.weights))
        left = "" if eta is None or not eta else f", about {duration(eta)} left"
        count = f"{len(self.done_names)}/{len(self.names)} {self.what}"
        self.write(f"[{count}, {duration(elapsed)}{left}] {tail}")
        self._last_line = self.clock()

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat_s / 4)):
            self.heartbeat()
