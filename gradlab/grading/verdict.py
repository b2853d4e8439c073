"""The result of grading one answer: :class:`Verdict` (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("correct", "partial", "wrong", "rejected", "blank")


@dataclass
class Verdict:
    """One graded answer.

    ``status``: ``correct``, ``partial`` (a named mistake that earns some credit), ``wrong``,
    ``rejected`` (the answer could not be read or took too long: ``feedback`` says why) or
    ``blank``. ``fraction`` is the share of the item's points (0 to 1); ``mistake`` the id of a
    named mistake (:data:`gradlab.model.answerkey.MISTAKES`); ``method`` how the decision was made;
    ``read_as`` the answer as gradlab read it (strict syntax), so a student sees what was graded.
    """

    status: str
    fraction: float
    feedback: str
    mistake: str | None = None
    method: str = ""
    read_as: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "fraction": self.fraction, "feedback": self.feedback, "mistake": self.mistake,
                "method": self.method, "read_as": self.read_as}

    @classmethod
    def blank(cls) -> "Verdict":
        return cls("blank", 0.0, "no answer")

    @classmethod
    def rejected(cls, why: str) -> "Verdict":
        return cls("rejected", 0.0, f"could not be graded: {why}")
