"""Checks for the notebooks' exercises: `check("05.2", answer)` says right or wrong, with a hint.

The answers are never stored in plain text: a number or a word is compared through a salted sha256 of
its normalised form, and a function the student writes is compared with the package's own implementation
on random inputs (so the reference is code the student has already read, not a printed answer).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch


def digest(exercise_id: str, answer: object, decimals: int | None = None) -> str:
    """The stored form of an answer: numbers rounded to `decimals`, text lowercased and stripped."""
    if decimals is not None:
        answer = f"{round(float(answer), decimals):.{decimals}f}"
    text = " ".join(str(answer).strip().lower().split())
    return hashlib.sha256(f"bertcourse:{exercise_id}:{text}".encode()).hexdigest()


@dataclass(frozen=True)
class ValueExercise:
    """A number (compared after rounding to `decimals` places) or a short text answer."""
    sha256: str
    hint: str
    decimals: int | None = None

    def is_right(self, exercise_id: str, answer: object) -> bool:
        return digest(exercise_id, answer, self.decimals) == self.sha256


@dataclass(frozen=True)
class FunctionExercise:
    """A function the student writes, compared with `reference` on `trials` random inputs."""
    reference: Callable
    make_inputs: Callable[[torch.Generator], tuple]   # random arguments for one trial
    hint: str
    trials: int = 20
    atol: float = 1e-5

    def is_right(self, exercise_id: str, answer: object) -> bool:
        g = torch.Generator().manual_seed(0)
        for _ in range(self.trials):
            args = self.make_inputs(g)
            if not same(answer(*args), self.reference(*args), self.atol):
                return False
        return True


def same(mine: object, theirs: object, atol: float) -> bool:
    """Tensors, numbers and (nested) tuples or lists compared elementwise within `atol`."""
    if isinstance(theirs, (tuple, list)):
        return (isinstance(mine, (tuple, list)) and len(mine) == len(theirs)
                and all(same(a, b, atol) for a, b in zip(mine, theirs)))
    if torch.is_tensor(theirs):
        mine = torch.as_tensor(mine)
        return mine.shape == theirs.shape and torch.allclose(mine.double(), theirs.double(), atol=atol)
    return mine == theirs


EXERCISES: dict[str, ValueExercise | FunctionExercise] = {}


def is_number(x: object) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or (torch.is_tensor(x) and x.numel() == 1)


def register(exercise_id: str, exercise: ValueExercise | FunctionExercise) -> None:
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise {exercise_id} is registered twice")
    EXERCISES[exercise_id] = exercise


def check(exercise_id: str, answer: object) -> bool:
    """Print a clear verdict (with a hint when wrong) and return it."""
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the notebooks' exercises are {', '.join(sorted(EXERCISES))}")
    exercise = EXERCISES[exercise_id]
    if answer is None:
        print(f"⏳ {exercise_id}: 还没有作答 (no answer yet). 提示 (hint): {exercise.hint}")
        return False
    if isinstance(exercise, FunctionExercise) and not callable(answer):
        raise TypeError(f"exercise {exercise_id} expects a function, got {type(answer).__name__}")
    if isinstance(exercise, ValueExercise) and exercise.decimals is not None and not is_number(answer):
        raise TypeError(f"exercise {exercise_id} expects a number, got {type(answer).__name__}")
    try:
        right = exercise.is_right(exercise_id, answer)
    except NotImplementedError:
        print(f"⏳ {exercise_id}: 函数还没有写完 (not implemented yet). 提示 (hint): {exercise.hint}")
        return False
    except Exception as error:  # the student's function crashed: that is an answer too, and a wrong one
        print(f"❌ {exercise_id}: 你的函数出错了 (your function raised) {type(error).__name__}: {error}")
        return False
    print(f"✅ {exercise_id}: 正确 (correct)!" if right else f"❌ {exercise_id}: 还不对 (not yet). 提示 (hint): {exercise.hint}")
    return right


# ---- the notebooks' exercises, one section per notebook (ids are "NN.k") ---------------------------------
