"""Which teacher distils into the ICs at each epoch (PKD's progressive schedule and variants).

Teachers are named by modality (``"mv"``, ``"residual"``, ``"iframe"``) or ``"self"``: the
final exit of the network being trained. The authors' schedule (paper.md section 3) is MV for
epochs 0-49, residual for 50-99, then the network's own final exit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TeacherSchedule", "SCHEDULES", "TEACHERS", "create_schedule"]

SCHEDULES = ("progressive", "anti", "fixed")
TEACHERS = ("mv", "residual", "iframe", "self")


@dataclass(frozen=True)
class TeacherSchedule:
    """A piecewise-constant teacher schedule.

    Attributes:
        starts: first epoch of each stage, non-decreasing, starting at 0 (a stage that starts
            where the next one does is empty: e.g. boundaries 0, 50 skip the MV teacher).
        teachers: the teacher of each stage (same length as ``starts``).
    """

    starts: tuple[int, ...]
    teachers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.starts) != len(self.teachers) or not self.starts:
            raise ValueError("a teacher schedule needs one start epoch per teacher")
        if self.starts[0] != 0 or any(b < a for a, b in zip(self.starts, self.starts[1:])):
            raise ValueError(f"stage start epochs must be 0 then non-decreasing, got {list(self.starts)}")
        for name in self.teachers:
            if name not in TEACHERS:
                raise ValueError(f"unknown teacher {name!r}; expected one of {', '.join(TEACHERS)}")

    def teacher_at(self, epoch: int) -> str:
        """The teacher used during ``epoch`` (0-based)."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        current = self.teachers[0]
        for start, name in zip(self.starts, self.teachers):
            if epoch >= start:
                current = name
        return current

    def needed(self, epochs: int) -> list[str]:
        """Teachers used by any of the first ``epochs`` epochs, in order of first use."""
        out: list[str] = []
        ends = (*self.starts[1:], epochs)
        for start, end, name in zip(self.starts, ends, self.teachers):
            if start < min(end, epochs) and name not in out:
                out.append(name)
        return out


def create_schedule(
    kind: str = "progressive", boundaries: Sequence[int] = (50, 100), fixed_teacher: str = "iframe"
) -> TeacherSchedule:
    """Builds a named schedule.

    Args:
        kind: ``"progressive"`` (MV -> residual -> self, the paper's), ``"anti"`` (self ->
            residual -> MV, the authors' anti-curriculum ablation) or ``"fixed"`` (one teacher).
        boundaries: the two epochs where the teacher changes (progressive and anti).
        fixed_teacher: the teacher of ``"fixed"`` (the authors' ablation uses ``"iframe"``).

    Raises:
        ValueError: unknown kind or teacher, or bad boundaries.
    """
    if kind == "fixed":
        return TeacherSchedule((0,), (fixed_teacher,))
    if kind not in SCHEDULES:
        raise ValueError(f"unknown teacher schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")
    if len(boundaries) != 2:
        raise ValueError(f"boundaries needs two epochs, got {list(boundaries)}")
    order = ("mv", "residual", "self") if kind == "progressive" else ("self", "residual", "mv")
    return TeacherSchedule((0, int(boundaries[0]), int(boundaries[1])), order)
