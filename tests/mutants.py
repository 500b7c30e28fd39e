"""Break one feature on purpose, to check that the tests notice (see tests/README.md).

    python -m pytest -p tests.mutants --mutant save-untrained-head tests/test_save_load.py

A pytest plugin: `--mutant NAME` patches the package before any test module is imported (so a test's
`from bertcourse... import f` gets the broken f too); the source files are never touched. Every
mutant must make at least one test of `make test-fast` fail; tests/README.md records which.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest


def resume_restores_nothing() -> None:
    """Trainer.resume reduced to its step check: the step counter moves on, but no weights, optimiser,
    schedule or random state are restored."""
    import torch

    from bertcourse import training

    def resume(self, path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["config"]["steps"] != self.config.steps:
            raise ValueError(f"{path} was saved by a run of {state['config']['steps']} steps, this one has "
                             f"{self.config.steps}; the learning-rate schedule would not match")
        self.step = state["step"]

    training.Trainer.resume = resume


def save_untrained_head() -> None:
    """save_finetuned writes the task head freshly initialised (as the class builds it) instead of trained,
    with the trained encoder; the model in memory stays trained."""
    from bertcourse import finetuning

    save = finetuning.save_finetuned

    def save_finetuned(result, config, out) -> None:
        fresh = type(result.model)(result.model.config)
        trained = result.model.state_dict()
        fresh.load_state_dict({k: v if k.startswith("bert.") else fresh.state_dict()[k] for k, v in trained.items()})
        save(replace(result, model=fresh), config, out)

    finetuning.save_finetuned = save_finetuned


def masking_rate_12_percent() -> None:
    """mask_tokens chooses 12% of the tokens when asked for 15% (any rate is scaled by 0.8)."""
    from bertcourse import pretraining

    mask_tokens = pretraining.mask_tokens

    def broken(input_ids, tokenizer, mlm_probability=0.15, *args, **kwargs):
        return mask_tokens(input_ids, tokenizer, mlm_probability * 0.8, *args, **kwargs)

    pretraining.mask_tokens = broken


def decoder_returns_the_first_span() -> None:
    """decode_spans puts the earliest legal span in the context first, whatever its score."""
    from bertcourse.tasks import qa

    decode_spans = qa.decode_spans

    def first_span_first(*args, **kwargs):
        return sorted(decode_spans(*args, **kwargs), key=lambda span: (span.start_char, span.end_char))

    qa.decode_spans = first_span_first


MUTANTS: dict[str, Callable[[], None]] = {
    "resume-restores-nothing": resume_restores_nothing,
    "save-untrained-head": save_untrained_head,
    "masking-rate": masking_rate_12_percent,
    "first-span-decoder": decoder_returns_the_first_span,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--mutant", choices=sorted(MUTANTS), help="break this feature on purpose (tests/mutants.py)")


def pytest_configure(config: pytest.Config) -> None:
    name = config.getoption("--mutant")
    if name:
        MUTANTS[name]()


def pytest_report_header(config: pytest.Config) -> str | None:
    name = config.getoption("--mutant")
    return f"MUTANT APPLIED: {name} ({MUTANTS[name].__doc__.splitlines()[0]})" if name else None
