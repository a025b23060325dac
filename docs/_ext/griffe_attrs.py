"""A Griffe extension for the API reference: teaches static analysis about attrs classes.

Griffe re-creates the `__init__` of `@dataclass` classes, but not of `@attrs.frozen` /
`@attrs.define` ones, so `Retry`, `RetryPolicy`, `SpendPolicy`, `PaymentRequired` and
`PaymentOption` would render without a signature, and their `Args:` sections would be
reported as naming parameters that do not exist. This extension:

* builds the `__init__` that attrs generates (keyword-only where the decorator or the field
  says so, `init=False` fields left out, a leading underscore dropped from the name, the
  default or factory shown as the default);
* turns Sphinx-style `#:` comments above a class- or module-level attribute into that
  attribute's docstring, as the source uses them to document fields and enum members.

Used only by `mkdocs.yml`; it never touches the package.
"""

from __future__ import annotations

from typing import Any

import griffe

_ATTRS_DECORATORS = frozenset(
    {
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attr.mutable",
    }
)
_FIELD_CALLS = frozenset({"attrs.field", "attr.ib", "attr.attrib", "attr.field"})


def _call_arguments(expr: Any) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {
        argument.name: argument.value
        for argument in expr.arguments
        if isinstance(argument, griffe.ExprKeyword)
    }


def _attrs_decorator(cls: griffe.Class) -> Any:
    for decorator in cls.decorators:
        value = decorator.value
        path = getattr(value, "canonical_path", None)
        if path is None and isinstance(value, str):
            path = value
        if path in _ATTRS_DECORATORS:
            return value
    return None


def _field_arguments(attribute: griffe.Attribute) -> dict[str, Any] | None:
    value = attribute.value
    if isinstance(value, griffe.ExprCall) and value.canonical_path in _FIELD_CALLS:
        return _call_arguments(value)
    return None


def _init_parameters(cls: griffe.Class, kw_only: bool) -> list[griffe.Parameter]:
    parameters: list[griffe.Parameter] = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute:
            continue
        attribute: griffe.Attribute = member  # type: ignore[assignment]
        if attribute.annotation is None or "property" in attribute.labels:
            continue
        if "class-attribute" in attribute.labels and "instance-attribute" not in attribute.labels:
            # Griffe labels a `ClassVar` this way (as its dataclasses support relies on):
            # not an attrs field.
            continue
        field = _field_arguments(attribute)
        if field is not None and str(field.get("init")) == "False":
            continue
        if field is None:
            default = attribute.value
        elif "default" in field:
            default = field["default"]
        elif "factory" in field:
            default = griffe.ExprCall(function=field["factory"], arguments=[])
        else:
            default = None
        keyword_only = kw_only or (field is not None and str(field.get("kw_only")) == "True")
        parameters.append(
            griffe.Parameter(
                attribute.name.lstrip("_"),
                annotation=attribute.annotation,
                kind=(
                    griffe.ParameterKind.keyword_only
                    if keyword_only
                    else griffe.ParameterKind.positional_or_keyword
                ),
                default=default,
                docstring=attribute.docstring,
            )
        )
    positional = [p for p in parameters if p.kind is not griffe.ParameterKind.keyword_only]
    keyword = [p for p in parameters if p.kind is griffe.ParameterKind.keyword_only]
    return positional + keyword


def _add_init(cls: griffe.Class) -> None:
    decorator = _attrs_decorator(cls)
    if decorator is None or "__init__" in cls.members:
        return
    options = _call_arguments(decorator)
    if str(options.get("init")) == "False":
        return
    kw_only = str(options.get("kw_only")) == "True"
    cls.labels.add("attrs")
    cls.set_member(
        "__init__",
        griffe.Function(
            "__init__",
            lineno=0,
            endlineno=0,
            parent=cls,
            parameters=griffe.Parameters(
                griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                *_init_parameters(cls, kw_only),
            ),
            returns="None",
        ),
    )


def _comment_docstring(attribute: griffe.Attribute) -> None:
    if attribute.docstring is not None or not attribute.lineno:
        return
    if _set_in_a_method(attribute):
        # `self.x` notes inside `__init__` describe internals (`secrets`, `interest`) or
        # repeat an `Attributes:` section; only class- and module-level ones are documented.
        return
    try:
        lines = attribute.lines_collection[attribute.filepath]  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return
    comments: list[str] = []
    index = attribute.lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if not text.startswith("#:"):
            break
        comments.insert(0, text[2:].strip())
        index -= 1
    if comments:
        attribute.docstring = griffe.Docstring(
            "\n".join(comments), lineno=index + 2, parent=attribute
        )


def _set_in_a_method(attribute: griffe.Attribute) -> bool:
    parent = attribute.parent
    if not isinstance(parent, griffe.Class):
        return False
    for member in parent.members.values():
        if member.is_alias or not member.is_function or not member.lineno:
            continue
        if member.lineno <= attribute.lineno <= (member.endlineno or member.lineno):  # type: ignore[operator]
            return True
    return False


def _visit(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    for member in list(obj.members.values()):
        if member.is_alias:
            continue
        if member.is_attribute:
            _comment_docstring(member)  # type: ignore[arg-type]
        elif member.is_class or member.is_module:
            _visit(member, seen)  # type: ignore[arg-type]
    if isinstance(obj, griffe.Class):
        _add_init(obj)


class AttrsExtension(griffe.Extension):
    """Re-creates attrs `__init__` methods and reads `#:` attribute comments."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _visit(pkg, set())
