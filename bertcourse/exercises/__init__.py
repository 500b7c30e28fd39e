"""Offline checks of the notebooks' exercises: `check("05.2", answer)`, `hint("05.2")`, `progress("05")`.

Three kinds: implement (a function compared with the package's own code on random inputs, with that code
switched off while the student's function runs), compute or read the figure (a number, stored only as a
salted hash), and predict before you run (the first prediction recorded is compared with a measurement
made when the check runs). One module of definitions per pair of notebooks.
"""
from . import nb00_01, nb02_03, nb04_05, nb06_07, nb08_09, nb10_11  # noqa: F401  (they register the exercises)
from .checking import STATE, check, hint, progress
from .core import EXERCISES, FunctionExercise, PredictionExercise, ValueExercise, digest, register
from .guard import SwitchedOff
from .nb04_05 import NEXT_TOKEN_SENTENCE
from .nb08_09 import NER_GOLD, NER_PREDICTED, NER_WORDS

__all__ = ["EXERCISES", "NER_GOLD", "NER_PREDICTED", "NER_WORDS", "NEXT_TOKEN_SENTENCE", "STATE", "FunctionExercise",
           "PredictionExercise", "SwitchedOff", "ValueExercise", "check", "digest", "hint", "progress", "register"]
