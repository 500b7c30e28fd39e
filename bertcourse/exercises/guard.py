"""Switch the package's reference off while a student's function runs, so it cannot be handed in.

Two layers, because a student can reach a function under any name: (1) every name bound to a forbidden
object in bertcourse.*, torch.*, the forbidden names' own packages, the notebook (__main__) and the
answer's globals is replaced by a stub that raises SwitchedOff with a clear message; (2) a profile hook
records any call that still enters a forbidden function (an alias in a closure, the object itself), by
its code object or, for C functions, by identity. Everything is put back afterwards, also on error.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ROOTS = ("bertcourse", "torch")


class SwitchedOff(RuntimeError):
    """Raised when a student's function calls what the exercise asks them to write."""


def message(name: str) -> str:
    return f"write it yourself: {name} is switched off during this check (自己写：检查期间它被关掉了)"


def resolve(dotted: str) -> tuple[object, str, object]:
    """"pkg.mod.func" or "pkg.mod.Class.method" -> (owner, attribute, object), importing the module."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ImportError(f"cannot resolve {dotted!r}")


def display_name(obj: object) -> str:
    return f"{getattr(obj, '__module__', None) or '?'}.{getattr(obj, '__qualname__', repr(obj))}"


class Guard:
    """What the student's call touched (names, in call order) and the patches to undo."""

    def __init__(self, named: dict[str, object]):
        self.by_id = {id(obj): name for name, obj in named.items()}
        self.by_code = {inspect.unwrap(obj).__code__: name for name, obj in named.items()
                        if hasattr(inspect.unwrap(obj), "__code__")}
        self.touched: list[str] = []
        self.undo: list[Callable[[], None]] = []

    def stub(self, name: str) -> Callable:
        def switched_off(*args, **kwargs):
            self.touched.append(name)
            raise SwitchedOff(message(name))
        return switched_off

    def patch_namespace(self, namespace: dict) -> None:
        for key, value in list(namespace.items()):
            name = self.by_id.get(id(value))
            if name is not None:
                namespace[key] = self.stub(name)
                self.undo.append(lambda ns=namespace, k=key, v=value: ns.__setitem__(k, v))

    def patch_class(self, owner: type, attribute: str, name: str) -> None:
        had = attribute in vars(owner)
        original = vars(owner).get(attribute)
        setattr(owner, attribute, self.stub(name))
        self.undo.append(lambda: setattr(owner, attribute, original) if had else delattr(owner, attribute))

    def profile(self, frame, event: str, arg: object) -> None:
        name = (self.by_code.get(frame.f_code) if event == "call"
                else self.by_id.get(id(arg)) if event == "c_call" else None)
        if name is not None:
            self.touched.append(name)


@contextmanager
def switched_off(reference: Callable, forbid: tuple[str, ...], answer: object) -> Iterator[Guard]:
    """Inside: the reference and the forbidden names raise SwitchedOff; guard.touched lists what was reached."""
    named = {display_name(reference): reference}
    owners = []
    for dotted in forbid:
        owner, attribute, obj = resolve(dotted)
        named[dotted] = obj
        if isinstance(owner, type):
            owners.append((owner, attribute, dotted))
    guard = Guard(named)
    roots = ROOTS + tuple(dotted.split(".")[0] for dotted in forbid)
    try:
        for module_name, module in list(sys.modules.items()):
            if module_name == "__main__" or module_name.split(".")[0] in roots:
                namespace = getattr(module, "__dict__", None)
                if isinstance(namespace, dict):
                    guard.patch_namespace(namespace)
        if isinstance(getattr(answer, "__globals__", None), dict):
            guard.patch_namespace(answer.__globals__)
        for owner, attribute, dotted in owners:
            guard.patch_class(owner, attribute, dotted)
        previous = sys.getprofile()
        sys.setprofile(guard.profile)
        try:
            yield guard
        finally:
            sys.setprofile(previous)
    finally:
        for undo in reversed(guard.undo):
            undo()
