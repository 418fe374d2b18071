"""One `Registry` class behind every by-name lookup (models, datasets, activations, optimizers, …)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

from zenlearn.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object with its one-line description and the registry's typed facts about it.

    `info` is a frozen dataclass of the registry's own kind (`OptimInfo` for optimizers, `ModelInfo`
    for models, …; timm's `OptimInfo` style), or None where a registry records nothing more.
    """

    name: str
    obj: T
    description: str = ""
    info: Any = None

    def listing(self) -> dict[str, Any]:
        """The facts `zenlearn list` shows beside the description (the info's `listing()`, if any)."""
        return self.info.listing() if hasattr(self.info, "listing") else {}


class Registry(Generic[T]):
    """A name → object table whose misses list the valid names.

    Args:
        kind: What the entries are, used in error messages ("model", "optimizer"). Defaults to none.

    Example:
        >>> ACTS = Registry("activation")
        >>> @ACTS.register("relu", "max(0, x)")
        ... def relu(x): return x.clamp_min(0)
        >>> ACTS.get("relu") is relu
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, description: str = "", *, aliases: tuple[str, ...] = (),
                 info: Any = None) -> Callable[[T], T]:
        """Decorator that registers `obj` under `name` (and `aliases`) with typed `info`."""

        def deco(obj: T) -> T:
            self.add(name, obj, description, aliases=aliases, info=info)
            return obj

        return deco

    def add(self, name: str, obj: T, description: str = "", *, aliases: tuple[str, ...] = (),
            info: Any = None) -> None:
        """Register `obj` under `name`; registering a name twice is a programming error."""
        key = _norm(name)
        assert key not in self._entries and key not in self._aliases, f"{self.kind} {name!r} registered twice"
        self._entries[key] = Entry(key, obj, description, info)
        for alias in aliases:
            self._aliases[_norm(alias)] = key

    def entry(self, name: str) -> Entry[T]:
        """The `Entry` for `name`; a miss raises `UsageError` listing the valid names."""
        key = _norm(name)
        key = self._aliases.get(key, key)
        if key not in self._entries:
            raise UsageError(self.miss(name))
        return self._entries[key]

    def miss(self, name: str) -> str:
        """The message for a name that is not registered: the closest name (difflib), then every valid one.

        Example:
            >>> ACTS = Registry("activation"); ACTS.add("relu", None); ACTS.add("gelu", None)
            >>> ACTS.miss("rellu")
            "unknown activation 'rellu'; did you mean 'relu'? choose one of: relu, gelu"
        """
        names = self.names() + list(self._aliases)
        match = difflib.get_close_matches(_norm(name), names, n=1)
        hint = f"did you mean {self._aliases.get(match[0], match[0])!r}? " if match else ""
        return f"unknown {self.kind} {name!r}; {hint}choose one of: {', '.join(self.names())}"

    def get(self, spec: str | T) -> T:
        """The object registered as `spec`; anything that is not a string is returned as is."""
        if not isinstance(spec, str):
            return spec
        return self.entry(spec).obj

    def names(self) -> list[str]:
        """Registered names in registration order (aliases excluded)."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (_norm(name) in self._entries or _norm(name) in self._aliases)

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def _norm(name: str) -> str:
    return name.strip().lower()
