"""KD teachers behind one interface (:class:`Teacher`): build them from a config dict with :func:`build_teacher`."""

from .base import Teacher, TeacherTargets
from .factory import build_teacher

__all__ = ["Teacher", "TeacherTargets", "build_teacher"]
