"""The tracker interface, the registry, and hyperparameter handling.

A tracker is ``init(image, box)`` then ``update(image) -> box`` (got10k-toolkit's interface).
``image`` is an ``H x W x 3`` uint8 RGB array; ``box`` is an OTB box ``[x, y, w, h]`` (1-based,
:mod:`regtrack.core.box`). Its hyperparameters are one dataclass, ``Params``, whose defaults are
the paper's (pytracking keeps one parameter file per tracker; here it is one dataclass).

Register a tracker with ``@register_tracker("name")``; build one with
``create_tracker("name", key=value, ...)`` or from CLI strings with ``parse_overrides``.
Tracker modules are imported lazily by name, so ``regtrack`` starts fast.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from regtrack.errors import RegtrackError

# name -> module that registers it. Adding a tracker = one line here + its module.
_TRACKER_MODULES: dict[str, str] = {
    "static": "regtrack.trackers.static",
    "kcf": "regtrack.trackers.kcf",
    "dsst": "regtrack.trackers.dsst",
    "udt": "regtrack.trackers.udt",
    "dcfnet": "regtrack.trackers.udt",
    "hcf": "regtrack.trackers.hcf",
    "crest": "regtrack.trackers.crest",
    "dslt": "regtrack.trackers.dslt",
    "tadt": "regtrack.trackers.tadt",
    "eco_hc": "regtrack.trackers.eco",
    "udtplus": "regtrack.trackers.eco",
    "udtplus_hog": "regtrack.trackers.eco",
    "opencv_kcf": "regtrack.trackers.opencv",
    "opencv_csrt": "regtrack.trackers.opencv",
}
_REGISTRY: dict[str, type[Tracker]] = {}


@dataclasses.dataclass
class NoParams:
    """A tracker without hyperparameters."""


class Tracker(ABC):
    """Base class: subclasses set ``name`` and ``Params`` and implement ``init`` and ``update``."""

    name: ClassVar[str] = "tracker"
    Params: ClassVar[type] = NoParams

    def __init__(self, params: Any | None = None, **overrides: Any) -> None:
        from regtrack.runtime import keep_freed_memory

        keep_freed_memory()  # per-frame feature maps reuse memory instead of page-faulting it in
        self.params = dataclasses.replace(params or self.Params(), **overrides)
        check_params(self.params, self.name)

    @abstractmethod
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        """Start tracking the target at OTB box ``box`` in ``image``."""

    @abstractmethod
    def update(self, image: np.ndarray) -> np.ndarray:
        """Return the target's OTB box ``[x, y, w, h]`` in the next frame ``image``."""

    def _first_frame(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``init``'s common first step: the frame as RGB (grey and RGBA accepted), the OTB box
        validated (:func:`regtrack.core.box.check_init_box`), the frame size remembered."""
        from regtrack.core.box import check_init_box
        from regtrack.core.sampling import as_rgb

        image = as_rgb(image)
        box = check_init_box(box, image.shape)
        self.frame_shape: tuple[int, int] = tuple(image.shape[:2])
        self.frame_index = 1
        return image, box

    def _next_frame(self, image: np.ndarray) -> np.ndarray:
        """``update``'s common first step: the frame as RGB, and a clear error if its size differs
        from the first frame's (a tracker's state is in pixels of that size)."""
        from regtrack.core.sampling import as_rgb, check_frame_size

        image = as_rgb(image)
        self.frame_index += 1
        check_frame_size(image, self.frame_shape, self.frame_index)
        return image

    def params_dict(self) -> dict[str, Any]:
        """The hyperparameters in use, JSON-ready (saved beside results)."""
        return json.loads(json.dumps(dataclasses.asdict(self.params), default=str))


def hyper(default: Any, *, ge: float | None = None, gt: float | None = None,
          le: float | None = None, lt: float | None = None,
          choices: Iterable[Any] | None = None, doc: str = "") -> Any:
    """A ``Params`` field with its valid range and meaning, stated once beside the default:
    ``lam: float = hyper(1e-4, gt=0, doc="ridge regularisation lambda")``. ``ge``/``gt``/``le``/
    ``lt`` bound a number (each element of a tuple or list); ``choices`` lists the valid values of
    a string. :func:`check_params` enforces them before any work starts."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc,
            "choices": tuple(choices) if choices is not None else None}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_params(params: Any, tracker: str = "tracker") -> None:
    """Raise a one-line :class:`RegtrackError` if a ``Params`` value is outside the range its
    :func:`hyper` field states (non-finite numbers are always refused)."""
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        meta = field.metadata
        values = value if isinstance(value, tuple | list) else [value]
        for item in values:
            if isinstance(item, bool) or item is None:
                continue
            if isinstance(item, int | float):
                bad = None
                if not math.isfinite(item):
                    bad = "must be finite"
                elif meta.get("ge") is not None and item < meta["ge"]:
                    bad = f"must be >= {meta['ge']}"
                elif meta.get("gt") is not None and item <= meta["gt"]:
                    bad = f"must be > {meta['gt']}"
                elif meta.get("le") is not None and item > meta["le"]:
                    bad = f"must be <= {meta['le']}"
                elif meta.get("lt") is not None and item >= meta["lt"]:
                    bad = f"must be < {meta['lt']}"
                if bad:
                    raise RegtrackError(f"{tracker} parameter {field.name}={item} {bad}",
                                        fix=f"{field.name}: {meta.get('doc') or 'see regtrack track --list'}")
            elif meta.get("choices") and item not in meta["choices"]:
                raise RegtrackError(f"{tracker} parameter {field.name}={item!r} is not valid",
                                    fix=f"choose one of {', '.join(map(str, meta['choices']))}")


def register_tracker(name: str) -> Callable[[type[Tracker]], type[Tracker]]:
    """Class decorator: make a tracker available to ``create_tracker(name)`` and the CLI."""

    def deco(cls: type[Tracker]) -> type[Tracker]:
        _REGISTRY[name] = cls
        return cls

    return deco


def available_trackers() -> list[str]:
    """Names of all trackers regtrack knows."""
    return sorted(set(_TRACKER_MODULES) | set(_REGISTRY))


def tracker_class(name: str) -> type[Tracker]:
    """The class registered under ``name`` (importing its module on first use)."""
    if name not in _REGISTRY and name in _TRACKER_MODULES:
        importlib.import_module(_TRACKER_MODULES[name])
    if name not in _REGISTRY:
        raise RegtrackError(f"unknown tracker {name!r}",
                            fix=f"choose one of {', '.join(available_trackers())}")
    return _REGISTRY[name]


def create_tracker(name: str, params: dict[str, Any] | None = None) -> Tracker:
    """Build tracker ``name`` with its paper defaults, overridden by ``params`` (typed values)."""
    cls = tracker_class(name)
    return cls(**(params or {}))


def parse_overrides(name: str, pairs: Iterable[str]) -> dict[str, Any]:
    """Turn CLI ``KEY=VALUE`` strings into typed overrides of tracker ``name``'s ``Params``.

    Values are converted to the field's declared type (bool, int, float, str, tuples/lists of
    numbers as ``1,0.5,0.25``, or ``none``); an unknown key is an error listing the valid ones.
    """
    cls = tracker_class(name)
    fields = {f.name: f for f in dataclasses.fields(cls.Params)}
    hints = typing.get_type_hints(cls.Params)
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise RegtrackError(f"--param {pair!r} is not KEY=VALUE", fix="write e.g. --param lam=1e-4")
        key, value = pair.split("=", 1)
        key = key.strip()
        if key not in fields:
            raise RegtrackError(f"tracker {name!r} has no parameter {key!r}",
                                fix=f"valid keys: {', '.join(sorted(fields))}")
        try:
            out[key] = _convert(value.strip(), hints[key])
        except (TypeError, ValueError) as err:
            raise RegtrackError(f"--param {key}={value}: {err}",
                                fix=f"expected {type_name(hints[key])}") from None
    check_params(dataclasses.replace(cls.Params(), **out), name)  # ranges, before any work starts
    return out


def type_name(hint: Any) -> str:
    """A type hint as a user reads it: ``float``, ``int or none``, ``list of float``."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        return " or ".join("none" if a is type(None) else type_name(a) for a in args)
    if origin in (tuple, list):
        return f"comma-separated {type_name(args[0]) if args else 'float'}s"
    if hint is type(None):
        return "none"
    names = {bool: "boolean (true/false)", int: "integer", float: "number", str: "text"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _range_text(meta: typing.Mapping[str, Any]) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(map(str, meta["choices"]))
    low = f">= {meta['ge']:g}" if meta.get("ge") is not None else \
        f"> {meta['gt']:g}" if meta.get("gt") is not None else ""
    high = f"<= {meta['le']:g}" if meta.get("le") is not None else \
        f"< {meta['lt']:g}" if meta.get("lt") is not None else ""
    return ", ".join(t for t in (low, high) if t)


def describe_params(name: str) -> str:
    """Tracker ``name`` and its parameters, one a line: default, valid range and meaning (from
    the :func:`hyper` metadata) -- what ``regtrack track --list`` prints."""
    cls = tracker_class(name)
    summary = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "") if cls.__doc__ else ""
    lines = [f"{name}: {summary}".rstrip()]
    hints = typing.get_type_hints(cls.Params)
    defaults = cls.Params()
    for field in dataclasses.fields(cls.Params):
        value = getattr(defaults, field.name)
        shown = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value).lower() \
            if value is None or isinstance(value, bool) else str(value)
        rng = _range_text(field.metadata) or type_name(hints[field.name])
        doc = field.metadata.get("doc", "")
        lines.append(f"  {field.name}={shown}  [{rng}]" + (f"  {doc}" if doc else ""))
    if len(lines) == 1:
        lines.append("  (no parameters)")
    return "\n".join(lines)


def _convert(text: str, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if text.lower() in ("none", "null", ""):
            return None
        return _convert(text, args[0])
    if origin in (tuple, list):
        elem = args[0] if args else float
        items = [_convert(t.strip(), elem) for t in text.strip("()[]").split(",") if t.strip()]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean")
    if hint is int:
        return int(float(text)) if float(text).is_integer() else int(text)
    if hint is float:
        value = float(text)
        if math.isnan(value):
            raise ValueError("NaN is not a valid value")
        return value
    return text
