"""The fine-tuning tasks by name: sentiment, entailment (and the two-way rte), similarity, ner, qa."""
from __future__ import annotations

import importlib

from .common import Task

# task name -> (module, attribute); imported on first use so `import bertcourse` stays light
_WHERE = {"sentiment": ("classification", "SENTIMENT"), "entailment": ("classification", "ENTAILMENT"),
          "similarity": ("classification", "SIMILARITY"), "rte": ("classification", "RTE"), "ner": ("ner", "NER"), "qa": ("qa", "QA")}
TASK_NAMES = tuple(_WHERE)


def get_task(name: str) -> Task:
    if name not in _WHERE:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    module, attribute = _WHERE[name]
    return getattr(importlib.import_module(f".{module}", __name__), attribute)
