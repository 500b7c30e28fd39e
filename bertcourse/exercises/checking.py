"""check / hint / progress: verdicts with graded hints, and where a class stands.

No hint before an attempt; each wrong answer gets a more specific hint than the one before, up to the
second-to-last; the last, most specific hint only comes from hint(). A known mistake gets its own message.
A prediction counts only the first time it is recorded, so it cannot be tuned after seeing the result.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .core import EXERCISES, Exercise, FunctionExercise, PredictionExercise, ValueExercise, is_number, same
from .guard import SwitchedOff, switched_off


@dataclass
class Attempts:
    """One exercise's history in this kernel: wrong answers so far, solved, the first prediction."""
    wrong: int = 0
    solved: bool = False
    prediction: object = None


STATE: dict[str, Attempts] = {}


def lookup(exercise_id: str) -> Exercise:
    if exercise_id not in EXERCISES:
        raise KeyError(f"no exercise {exercise_id!r}; the notebooks' exercises are {', '.join(sorted(EXERCISES))}")
    return EXERCISES[exercise_id]


def function_verdict(exercise: FunctionExercise, answer) -> tuple[bool, str | None]:
    """Run the reference outside, the student's function inside the guard; (right, known mistake)."""
    g = torch.Generator().manual_seed(0)
    cases = [exercise.make_inputs(g) for _ in range(exercise.trials)]
    expected = [exercise.reference(*args) for args in cases]
    with switched_off(exercise.reference, exercise.forbid, answer) as guard:
        got = [answer(*args) for args in cases]
    if guard.touched:                          # reached by an alias, or caught and swallowed by the student
        raise SwitchedOff(f"write it yourself: {guard.touched[0]} is switched off during this check "
                          "(自己写：检查期间它被关掉了)")
    if all(same(mine, theirs, exercise.atol) for mine, theirs in zip(got, expected)):
        return True, None
    for wrong, text in exercise.mistakes:
        if all(same(mine, wrong(*args), exercise.atol) for mine, args in zip(got, cases)):
            return False, text
    return False, None


def wrong_answer(exercise_id: str, exercise: Exercise, mistake: str | None) -> None:
    attempts = STATE.setdefault(exercise_id, Attempts())
    attempts.wrong += 1
    if mistake is not None:
        print(f"❌ {exercise_id}: 还不对 (not yet). 常见错误 (a known mistake): {mistake}")
        return
    nudge = exercise.hints[min(attempts.wrong, len(exercise.hints) - 1) - 1]
    print(f"❌ {exercise_id}: 还不对 (not yet). 提示 {attempts.wrong} (hint): {nudge}")


def right_answer(exercise_id: str, text: str = "正确 (correct)!") -> None:
    STATE.setdefault(exercise_id, Attempts()).solved = True
    print(f"✅ {exercise_id}: {text}")


def check_prediction(exercise_id: str, exercise: PredictionExercise, prediction: object) -> bool:
    if exercise.choices and str(prediction).strip().lower() not in exercise.choices:
        raise ValueError(f"exercise {exercise_id} expects one of {', '.join(exercise.choices)}, got {prediction!r}")
    if exercise.tolerance is not None and not is_number(prediction):
        raise TypeError(f"exercise {exercise_id} expects a number, got {type(prediction).__name__}")
    attempts = STATE.setdefault(exercise_id, Attempts())
    if attempts.prediction is None:
        attempts.prediction = prediction
    elif attempts.prediction != prediction:
        print(f"📌 {exercise_id}: 只算第一次记下的预测 (only the first prediction counts): {attempts.prediction!r}")
    measured = exercise.measure()
    print(f"🔬 {exercise_id}: 你的预测 (prediction) {attempts.prediction!r}; 测量结果 (measured) {measured!r}")
    if exercise.is_right(attempts.prediction, measured):
        right_answer(exercise_id, "预测对了 (your prediction holds)!")
        return True
    if attempts.wrong == 0:
        wrong_answer(exercise_id, exercise, None)
    return False


def check(exercise_id: str, answer: object) -> bool:
    """Print a verdict (a graded hint, or a known mistake, when wrong) and return it."""
    exercise = lookup(exercise_id)
    if answer is None:
        print(f"⏳ {exercise_id}: 还没有作答 (no answer yet): {exercise.asks}")
        return False
    if isinstance(exercise, PredictionExercise):
        return check_prediction(exercise_id, exercise, answer)
    if isinstance(exercise, FunctionExercise) and not callable(answer):
        raise TypeError(f"exercise {exercise_id} expects a function, got {type(answer).__name__}")
    if isinstance(exercise, ValueExercise) and exercise.decimals is not None and not (
            is_number(answer) or (isinstance(answer, (tuple, list)) and all(map(is_number, answer)))):
        raise TypeError(f"exercise {exercise_id} expects a number, got {type(answer).__name__}")
    try:
        if isinstance(exercise, FunctionExercise):
            right, mistake = function_verdict(exercise, answer)
        else:
            right, mistake = exercise.is_right(exercise_id, answer), exercise.mistake(exercise_id, answer)
    except NotImplementedError:
        print(f"⏳ {exercise_id}: 还没有作答 (no answer yet): {exercise.asks}")
        return False
    except SwitchedOff as error:
        STATE.setdefault(exercise_id, Attempts()).wrong += 1
        print(f"🚫 {exercise_id}: {error}")
        return False
    except Exception as error:  # the student's function crashed: that is an answer too, and a wrong one
        STATE.setdefault(exercise_id, Attempts()).wrong += 1
        print(f"❌ {exercise_id}: 你的函数出错了 (your function raised) {type(error).__name__}: {error}")
        return False
    if right:
        right_answer(exercise_id)
    else:
        wrong_answer(exercise_id, exercise, mistake)
    return right


def hint(exercise_id: str) -> str | None:
    """The most specific hint, for a student who has tried at least once and asks."""
    exercise = lookup(exercise_id)
    attempts = STATE.get(exercise_id)
    if attempts is None or not (attempts.wrong or attempts.solved):
        print(f"✋ {exercise_id}: 先用 check 交一次答案，再来要提示 (try once with check first, then ask).")
        return None
    print(f"💡 {exercise_id}: {exercise.hints[-1]}")
    return exercise.hints[-1]


def progress(notebook: str | None = None) -> dict[str, str]:
    """Print each exercise of one notebook ("05"), or of all, with ✅ / ❌ / 未作答 (not tried)."""
    ids = sorted(i for i in EXERCISES if notebook is None or i.startswith(f"{notebook}."))
    if not ids:
        raise KeyError(f"no exercises for notebook {notebook!r}; the notebooks are "
                       f"{', '.join(sorted({i[:2] for i in EXERCISES}))}")
    status = {}
    for exercise_id in ids:
        attempts = STATE.get(exercise_id)
        status[exercise_id] = ("✅" if attempts and attempts.solved else "❌" if attempts and attempts.wrong
                               else "未作答 (not tried)")
        tries = f"  ({attempts.wrong} 次不对 wrong)" if attempts and attempts.wrong else ""
        print(f"{exercise_id}  {EXERCISES[exercise_id].kind:<16} {status[exercise_id]}{tries}")
    return status
