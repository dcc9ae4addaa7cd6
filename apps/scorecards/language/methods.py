"""Methods on values: `.any(x => ...)` and the other list methods, string methods, `.fromNow()`.

Each entry of `METHODS` builds `impl(ctx, target) -> value` from the compiled arguments; the compiler
wraps it so a null target gives null (Cortex's `?.` is implicit for methods) and a runtime error names
the method's column. Arguments are positional `_Node`s or `_Lambda`s; the signature check says which.

Semantics follow Cortex's CQL reference: predicates see each element; `count()` is the length and
`count(pred)` the number of elements that pass; `sum()` of an empty list is 0 and `average()`, `min()`,
`max()` of one are null; `matchesIn(regex)` finds the regex anywhere in a string (`matches` needs the
whole string to match); `anyMatch(regex)` is true when some element does (a link by its URL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import re2

from . import values as V
from .nodes import RuleSyntaxError, _Lambda, _Node
from .values import RuleRuntimeError, SemVer, type_name

# name -> (builder, minimum positional args, maximum, which positions are lambdas)
MethodBuilder = Callable[..., Callable[[Any, Any], Any]]


def _list(value: Any, method: str) -> list | tuple:
    if isinstance(value, list | tuple):
        return value
    raise RuleRuntimeError(f"{method}() works on lists, got {type_name(value)}")


def _string(value: Any, method: str) -> str:
    if isinstance(value, str):
        return value
    raise RuleRuntimeError(f"{method}() works on strings, got {type_name(value)}")


def _predicate(fn: Callable, ctx: Any, element: Any, method: str) -> bool:
    result = fn(ctx, element)
    if result is True or result is False:
        return result
    if result is None:
        return False
    raise RuleRuntimeError(f"the function given to {method}() must give true or false, got {type_name(result)}")


def _numbers(items: list | tuple, method: str) -> list:
    numbers = [item for item in items if item is not None]
    for item in numbers:
        if not V.is_number(item):
            raise RuleRuntimeError(f"{method}() needs numbers, got {type_name(item)}")
    return numbers


def _regex_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error is the rule's, reported to its author; not a log line
    options.max_mem = REGEX_MAX_MEMORY
    return options


# RE2's own default: a pattern whose compiled program needs more is refused when the rule is compiled.
REGEX_MAX_MEMORY = 8 << 20
_OPTIONS = _regex_options()


def compile_regex(pattern: str):
    """A user's regular expression, compiled by RE2: matching time is linear in the text, whatever the
    pattern (`(a+)+$` cannot backtrack), and memory is bounded. Raises re2.error for what RE2 refuses,
    which includes backreferences and lookarounds: they are what makes other engines backtrack."""
    return re2.compile(pattern, options=_OPTIONS)


def _compile_regex(node: _Node, method: str):
    if not node.is_literal or not isinstance(node.literal, str):
        raise RuleSyntaxError(f"{method}() needs a string literal, the regular expression", node.line, node.column)
    try:
        return compile_regex(node.literal)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        unsupported = "perl operator" in reason or any(f"sequence: \\{digit}" in reason for digit in "123456789")
        hint = " (lookarounds and backreferences are not supported)" if unsupported else ""
        raise RuleSyntaxError(f"invalid regular expression: {reason}{hint}", node.line, node.column) from None


def _text_of(element: Any) -> str | None:
    """What a regex is matched against: a string, or a link's (or any object's) `url`, else its `name`."""
    if isinstance(element, str):
        return element
    if isinstance(element, dict):
        for key in ("url", "name", "tag"):
            if isinstance(element.get(key), str):
                return element[key]
    return None


def _kinds(items: list) -> str:
    kinds = sorted({type_name(item) for item in items})
    return f"{kinds[0]} values" if len(kinds) == 1 else " and ".join(kinds) + " values with each other"


def _spelling(value: Any) -> str:
    """A value as the rule language writes it: `true`, `null`, `1.5`, text as is."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


# -- builders: each takes the compiled positional arguments and returns impl(ctx, target) ------------
def _any(args):
    (fn,) = args

    def impl(ctx, target):
        return any(_predicate(fn, ctx, element, "any") for element in _list(target, "any"))

    return impl


def _all(args):
    (fn,) = args

    def impl(ctx, target):
        return all(_predicate(fn, ctx, element, "all") for element in _list(target, "all"))

    return impl


def _none(args):
    (fn,) = args

    def impl(ctx, target):
        return not any(_predicate(fn, ctx, element, "none") for element in _list(target, "none"))

    return impl


def _filter(args):
    (fn,) = args

    def impl(ctx, target):
        return [element for element in _list(target, "filter") if _predicate(fn, ctx, element, "filter")]

    return impl


def _map(args):
    (fn,) = args

    def impl(ctx, target):
        return [fn(ctx, element) for element in _list(target, "map")]

    return impl


def _count(args):
    if not args:

        def count_all(ctx, target):
            if isinstance(target, str | dict):
                return len(target)
            return len(_list(target, "count"))

        return count_all
    (fn,) = args

    def count(ctx, target):
        return sum(1 for element in _list(target, "count") if _predicate(fn, ctx, element, "count"))

    return count


def _aggregate(method: str, reduce: Callable[[list], Any], empty: Any):
    def build(args):
        mapper = args[0] if args else None

        def impl(ctx, target):
            items = _list(target, method)
            if mapper is not None:
                items = [mapper(ctx, element) for element in items]
            numbers = _numbers(items, method)
            return reduce(numbers) if numbers else empty

        return impl

    return build


def _ordered(method: str, pick: Callable):
    def build(args):
        mapper = args[0] if args else None

        def impl(ctx, target):
            items = [element for element in _list(target, method) if element is not None]
            if mapper is not None:
                items = [value for element in items if (value := mapper(ctx, element)) is not None]
            if not items:
                return None
            try:
                return pick(items, key=V.sort_key)
            except (TypeError, ValueError, RuleRuntimeError):
                raise RuleRuntimeError(f"{method}() cannot compare {_kinds(items)}") from None

        return impl

    return build


def _flatten(args):
    def impl(ctx, target):
        flat: list = []
        for element in _list(target, "flatten"):
            flat.extend(element if isinstance(element, list | tuple) else [element])
        return flat

    return impl


def _distinct(args):
    def impl(ctx, target):
        unique: list = []
        for element in _list(target, "distinct"):
            if not any(V.equals(element, seen) for seen in unique):
                unique.append(element)
        return unique

    return impl


def _first(args):
    def impl(ctx, target):
        items = _list(target, "first")
        return items[0] if items else None

    return impl


def _last(args):
    def impl(ctx, target):
        items = _list(target, "last")
        return items[-1] if items else None

    return impl


def _is_empty(args):
    def impl(ctx, target):
        if isinstance(target, str | dict):
            return not target
        return not _list(target, "isEmpty")

    return impl


def _is_not_empty(args):
    empty = _is_empty(args)
    return lambda ctx, target: not empty(ctx, target)


def _sorted(args):
    def impl(ctx, target):
        items = list(_list(target, "sort"))
        try:
            return sorted(items, key=V.sort_key)
        except (TypeError, ValueError, RuleRuntimeError):
            raise RuleRuntimeError(f"sort() cannot compare {_kinds(items)}") from None

    return impl


def _reverse(args):
    def impl(ctx, target):
        if isinstance(target, str):
            return target[::-1]
        return list(reversed(_list(target, "reverse")))

    return impl


def _join(args):
    separator = args[0] if args else None

    def impl(ctx, target):
        sep = "," if separator is None else separator(ctx)
        if not isinstance(sep, str):
            raise RuleRuntimeError(f"join() needs a string separator, got {type_name(sep)}")
        return sep.join(_spelling(element) for element in _list(target, "join"))

    return impl


def _take(args):
    (count,) = args

    def impl(ctx, target):
        n = count(ctx)
        if not V.is_number(n) or n != int(n):
            raise RuleRuntimeError(f"take() needs a whole number, got {type_name(n)}")
        return list(_list(target, "take"))[: max(int(n), 0)]

    return impl


def _string_method(method: str, transform: Callable[[str], Any]):
    def build(args):
        return lambda ctx, target: transform(_string(target, method))

    return build


def _split(args):
    (separator,) = args

    def impl(ctx, target):
        sep = separator(ctx)
        if not isinstance(sep, str) or not sep:
            raise RuleRuntimeError("split() needs a non-empty string separator")
        return _string(target, "split").split(sep)

    return impl


def _replace(args):
    old, new = args

    def impl(ctx, target):
        a, b = old(ctx), new(ctx)
        if not isinstance(a, str) or not isinstance(b, str):
            raise RuleRuntimeError("replace() needs two strings")
        return _string(target, "replace").replace(a, b)

    return impl


def _from_now(args):
    def impl(ctx, target):
        if isinstance(target, str):
            target = V.parse_datetime(target)
        if not isinstance(target, datetime):
            raise RuleRuntimeError(f"fromNow() works on date-times, got {type_name(target)}")
        return target - ctx.now

    return impl


def _is_stable(args):
    def impl(ctx, target):
        if isinstance(target, str):
            target = SemVer(target)
        if not isinstance(target, SemVer):
            raise RuleRuntimeError(f"isStable() works on semver values, got {type_name(target)}")
        return target.version.major >= 1 and not target.version.prerelease

    return impl


def _contains(args):
    (item,) = args
    return lambda ctx, target: V.contains(target, item(ctx))


def _affix(method: str):
    def build(args):
        (affix,) = args
        return lambda ctx, target: V.string_affix(target, affix(ctx), method)

    return build


def _get(args):
    (key,) = args

    def impl(ctx, target):
        wanted = key(ctx)
        if isinstance(target, dict):
            return target.get(wanted) if isinstance(wanted, str) else None
        items = _list(target, "get")
        if not V.is_number(wanted) or wanted != int(wanted):
            raise RuleRuntimeError(f"get() on a list needs a whole number, got {type_name(wanted)}")
        index = int(wanted)
        return items[index] if -len(items) <= index < len(items) else None

    return impl


def _keys(args):
    def impl(ctx, target):
        if not isinstance(target, dict):
            raise RuleRuntimeError(f"keys() works on objects, got {type_name(target)}")
        return list(target)

    return impl


# Lambda positions: `L` a function of the element, `R` a regular expression literal, `V` a value.
# (builder, shapes accepted). A shape is a string of argument kinds, one letter per argument.
METHODS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "any": (_any, ("L",)),
    "all": (_all, ("L",)),
    "none": (_none, ("L",)),
    "filter": (_filter, ("L",)),
    "map": (_map, ("L",)),
    "count": (_count, ("", "L")),
    "sum": (_aggregate("sum", sum, 0), ("", "L")),
    "average": (_aggregate("average", lambda xs: sum(xs) / len(xs), None), ("", "L")),
    "min": (_ordered("min", min), ("", "L")),
    "max": (_ordered("max", max), ("", "L")),
    "flatten": (_flatten, ("",)),
    "distinct": (_distinct, ("",)),
    "first": (_first, ("",)),
    "firstOrNull": (_first, ("",)),
    "last": (_last, ("",)),
    "lastOrNull": (_last, ("",)),
    "isEmpty": (_is_empty, ("",)),
    "isNotEmpty": (_is_not_empty, ("",)),
    "sort": (_sorted, ("",)),
    "sorted": (_sorted, ("",)),
    "reverse": (_reverse, ("",)),
    "join": (_join, ("", "V")),
    "take": (_take, ("V",)),
    "get": (_get, ("V",)),
    "keys": (_keys, ("",)),
    "contains": (_contains, ("V",)),
    "startsWith": (_affix("startsWith"), ("V",)),
    "endsWith": (_affix("endsWith"), ("V",)),
    "toLowerCase": (_string_method("toLowerCase", str.lower), ("",)),
    "toUpperCase": (_string_method("toUpperCase", str.upper), ("",)),
    "trim": (_string_method("trim", str.strip), ("",)),
    "split": (_split, ("V",)),
    "replace": (_replace, ("VV",)),
    "fromNow": (_from_now, ("",)),
    "isStable": (_is_stable, ("",)),
}
# Regex methods compile their pattern once, at compile time.
REGEX_METHODS = ("matches", "matchesIn", "anyMatch", "allMatch", "noneMatch")


def regex_method(method: str, pattern) -> Callable[[Any, Any], Any]:
    if method == "matches":
        return lambda ctx, target: V.regex_matches(target, pattern)
    if method == "matchesIn":

        def matches_in(ctx, target):
            if isinstance(target, list | tuple):
                return any((text := _text_of(e)) is not None and pattern.search(text) for e in target)
            return pattern.search(_string(target, "matchesIn")) is not None

        return matches_in
    quantifier = {"anyMatch": any, "allMatch": all, "noneMatch": lambda xs: not any(xs)}[method]

    def list_match(ctx, target):
        items = _list(target, method)
        return quantifier((text := _text_of(e)) is not None and pattern.fullmatch(text) is not None for e in items)

    return list_match


def shape_of(args: list) -> str:
    return "".join("L" if isinstance(arg, _Lambda) else "V" for arg in args)


def describe_shapes(method: str, shapes: tuple[str, ...], given: str = "") -> str:
    if all(set(shape) <= {"V"} for shape in shapes) and not set(given) - {"V"}:
        counts = sorted({len(shape) for shape in shapes})
        wanted = " or ".join(str(n) for n in counts)
        plural = "" if counts == [1] else "s"
        return f"{method}() takes {wanted} argument{plural}, got {len(given)}"
    words = {"": "no arguments", "L": "a function such as x => ...", "V": "one value", "VV": "two values"}
    return f"{method}() takes " + " or ".join(words.get(shape, shape) for shape in shapes)


__all__ = ["METHODS", "REGEX_METHODS", "describe_shapes", "regex_method", "shape_of", "_compile_regex"]
