"""The three kinds of exercise and the registry.

Answers are never stored in plain text: a number or a word is compared through a salted sha256 of its
normalised form; a function is compared with the package's own code on random inputs; a prediction is
compared with a measurement the package makes when the check runs (so nothing is there to read off).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch


def normalise(answer: object, decimals: int | None) -> str:
    """Numbers rounded to `decimals` places (each one of a tuple), text lowercased with single spaces."""
    if isinstance(answer, (tuple, list)):
        return ", ".join(normalise(a, decimals) for a in answer)
    if decimals is not None:
        answer = f"{round(float(answer), decimals):.{decimals}f}"
    return " ".join(str(answer).strip().lower().split())


def digest(exercise_id: str, answer: object, decimals: int | None = None) -> str:
    """The stored form of an answer; salted with the exercise id, so one number is no clue elsewhere."""
    return hashlib.sha256(f"bertcourse:{exercise_id}:{normalise(answer, decimals)}".encode()).hexdigest()


def is_number(x: object) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or (torch.is_tensor(x) and x.numel() == 1)


def same(mine: object, theirs: object, atol: float) -> bool:
    """Tensors, numbers and (nested) tuples or lists compared elementwise within `atol`."""
    if isinstance(theirs, (tuple, list)):
        return (isinstance(mine, (tuple, list)) and len(mine) == len(theirs)
                and all(same(a, b, atol) for a, b in zip(mine, theirs)))
    if torch.is_tensor(theirs):
        mine = torch.as_tensor(mine)
        return mine.shape == theirs.shape and torch.allclose(mine.double(), theirs.double(), atol=atol)
    return mine == theirs


@dataclass(frozen=True)
class ValueExercise:
    """A number, a tuple of numbers (compared after rounding to `decimals`) or a short text.

    hints go from a nudge to the most specific one (which only hint() prints); mistakes maps the digest of
    a known wrong answer to a message about that mistake."""
    sha256: str
    asks: str                                  # what to fill in, said when the answer is empty
    hints: tuple[str, ...]
    decimals: int | None = None
    mistakes: tuple[tuple[str, str], ...] = ()  # (sha256 of a wrong answer, what went wrong)
    kind: str = "compute"                      # "compute" or "read the figure"

    def is_right(self, exercise_id: str, answer: object) -> bool:
        return digest(exercise_id, answer, self.decimals) == self.sha256

    def mistake(self, exercise_id: str, answer: object) -> str | None:
        return dict(self.mistakes).get(digest(exercise_id, answer, self.decimals))


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student writes, compared with `reference` on `trials` random inputs.

    While the student's function runs, the reference and every dotted name in `forbid` are switched off
    (guard.py); mistakes are functions that compute a known wrong answer, each with its message."""
    reference: Callable
    make_inputs: Callable[[torch.Generator], tuple]   # random arguments for one trial
    hints: tuple[str, ...]
    forbid: tuple[str, ...] = ()
    mistakes: tuple[tuple[Callable, str], ...] = ()
    trials: int = 20
    atol: float = 1e-5
    kind: str = "implement"
    asks: str = "写完函数体，删掉 raise NotImplementedError (finish the function)"


@dataclass(frozen=True)
class PredictionExercise:
    """Predict before you run: the first prediction recorded is compared with `measure()`, run at check time.

    Numbers are right within `tolerance`; text (one of `choices`, when given) must match exactly."""
    measure: Callable[[], object]
    asks: str
    hints: tuple[str, ...]
    tolerance: float | None = None
    choices: tuple[str, ...] = ()
    kind: str = "predict"

    def is_right(self, prediction: object, measured: object) -> bool:
        if self.tolerance is not None:
            return abs(float(prediction) - float(measured)) <= self.tolerance
        return normalise(prediction, None) == normalise(measured, None)


Exercise = ValueExercise | FunctionExercise | PredictionExercise
EXERCISES: dict[str, Exercise] = {}


def register(exercise_id: str, exercise: Exercise) -> None:
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise {exercise_id} is registered twice")
    if len(exercise.hints) < 2:
        raise ValueError(f"exercise {exercise_id} needs graded hints: a nudge first, the most specific last")
    EXERCISES[exercise_id] = exercise
