"""YAML text to plain data, with the line of every value and hard limits on the input.

PyYAML's loaders construct objects before anything can count them: an alias bomb of a few
kilobytes expands to billions of nodes, deep nesting recurses in Python until it overflows,
tags can ask for arbitrary objects, and a repeated key silently overrides the first one. So
this module reads the parser's event stream (libyaml when available) and builds dicts, lists
and scalars itself, iteratively: it counts nodes as aliases *would* expand them (an alias adds
the size of its anchor without copying it, so a bomb is refused after a few events), stops at
a nesting depth, refuses every tag that is not a plain YAML type and every duplicate key, and
records the line of every mapping key and sequence item for error messages.

Too deep nesting is reported at the outermost flow collection (``[...]``/``{...}``) around the
too-deep point, because that is what a user rewrites, and because it is also all libyaml 0.2.5
or later lets one know: it refuses flow nesting beyond 1000 levels while scanning ahead on the
line, before the events reach the check here. Its error is translated into the same problem
(same field path and line), so a file gives the same message whichever parser is installed.
Reader errors (characters YAML does not allow) are worded here for the same reason.

Mapping keys are kept as the text written (``yes:`` is the name "yes", ``2014:`` the name
"2014"), because every key of a scenario is a field name or a user's name for something.
Timestamps stay text: the scenario layer parses times itself, with its own rules on zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from sim.scenario import yamlwords
from sim.scenario.errors import Problem, ScenarioError

MAX_BYTES = 1 << 20
"""Largest scenario file accepted (1 MiB); real scenarios are a few kilobytes."""
MAX_NODES = 20_000
"""Most values in one file, counting every alias as the copy it stands for."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists; scenarios nest four or five levels."""

Path = tuple[str | int, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_Y = "tag:yaml.org,2002:"
_SCALARS = {
    _Y + "str": yaml.constructor.SafeConstructor.construct_yaml_str,
    _Y + "int": yaml.constructor.SafeConstructor.construct_yaml_int,
    _Y + "float": yaml.constructor.SafeConstructor.construct_yaml_float,
    _Y + "bool": yaml.constructor.SafeConstructor.construct_yaml_bool,
    _Y + "null": yaml.constructor.SafeConstructor.construct_yaml_null,
}
_TIMESTAMP = _Y + "timestamp"
_COLLECTION_TAGS = {yaml.MappingStartEvent: _Y + "map", yaml.SequenceStartEvent: _Y + "seq"}
_BAD_KEY = object()
"""Placeholder for a key that is not a plain scalar: its value is read and dropped."""
_NOTHING = object()
"""The root before any value was read: an empty file."""


@dataclass(slots=True)
class Document:
    """The data of a YAML file and the line (1-based) of every mapping key and list item."""

    data: object
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int | None:
        """Line of ``path`` or, when it has none (a missing field), of its nearest parent."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return None


@dataclass(slots=True)
class _Frame:
    value: dict[str, object] | list[object]
    path: Path
    line: int
    anchor: str | None
    flow: bool
    size: int = 1
    key: object = None
    """For a mapping: the pending key (``None`` while a key is expected)."""
    key_lines: dict[str, int] = field(default_factory=dict)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


class _Builder:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.lines: dict[Path, int] = {(): 1}
        self.anchors: dict[str, tuple[object, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: object = _NOTHING
        self.nodes = 0
        self.documents = 0

    def fail(self, line: int | None, message: str, path: Path = ()) -> ScenarioError:
        self.problems.append(Problem(self.filename, line, dotted(path), message))
        return ScenarioError(self.problems)

    def note(self, line: int | None, message: str, path: Path = ()) -> None:
        self.problems.append(Problem(self.filename, line, dotted(path), message))

    def too_deep(self, line: int | None) -> ScenarioError:
        """At the outermost open flow collection, else where the next value goes (libyaml's
        refusal comes before the flow collection's first event), cut to two levels for block
        nesting that deep, which no scenario has."""
        flows = [frame.path for frame in self.stack if frame.flow]
        path = flows[0] if flows else self.child_path()[:2]
        return self.fail(line, f"nested more than {MAX_DEPTH} levels deep; a scenario nests a "
                         "few levels", path)

    def child_path(self) -> Path:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return top.path + (len(top.value),)
        return top.path + (top.key,) if isinstance(top.key, str) else top.path

    def expecting_key(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1].value, dict) and self.stack[-1].key is None

    def scalar(self, event: yaml.ScalarEvent, line: int) -> object:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _TIMESTAMP:
            return event.value
        construct = _SCALARS.get(tag)
        if construct is None:
            if tag == _Y + "merge":
                self.note(line, "merge keys (<<) are not supported; write the fields out", self.child_path())
            else:
                self.note(line, f"YAML tag {_show_tag(tag)} is not allowed: a scenario holds only "
                          "plain text, numbers, booleans, lists and mappings", self.child_path())
            return None
        try:
            return construct(_CONSTRUCTOR, yaml.ScalarNode(tag, event.value))
        except (ValueError, KeyError, TypeError, OverflowError):
            self.note(line, f"{event.value!r} is not a valid {_show_tag(tag)}", self.child_path())
            return None

    def add(self, value: object, size: int, line: int, new: int = 1, is_key: bool = False) -> None:
        """Put ``value`` (``size`` nodes once expanded, ``new`` of them not counted yet) in
        its parent."""
        self.nodes += new
        if self.nodes > MAX_NODES:
            raise self.fail(line, f"too many values (more than {MAX_NODES}, counting every alias "
                            "as the copy it stands for); a scenario needs a few hundred")
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.value, list):
            self.lines[top.path + (len(top.value),)] = line
            top.value.append(value)
            return
        if top.key is None:
            top.key = value if is_key else _BAD_KEY
            if top.key is _BAD_KEY:
                self.note(line, "mapping keys must be plain names, not lists, mappings or aliases",
                          top.path)
            return
        key, top.key = top.key, None
        if key is _BAD_KEY:
            return
        assert isinstance(key, str)
        if key in top.value:
            self.note(top.key_lines[key], f"key {key!r} given twice (first at line "
                      f"{self.lines[top.path + (key,)]}); a repeated key is an error, not an override",
                      top.path + (key,))
            return
        top.value[key] = value

    def register(self, anchor: str | None, value: object, size: int) -> None:
        if anchor is not None:
            self.open_anchors.discard(anchor)
            self.anchors[anchor] = (value, size)

    def event(self, ev: yaml.Event) -> None:
        line = ev.start_mark.line + 1
        if isinstance(ev, yaml.ScalarEvent):
            if self.expecting_key():
                top = self.stack[-1]
                self.scalar(ev, line)  # refuses tags on keys too
                key = ev.value
                top.key_lines[key] = line
                if key not in top.value:
                    self.lines[top.path + (key,)] = line
                self.add(key, 1, line, is_key=True)
                self.register(ev.anchor, key, 1)
                return
            value = self.scalar(ev, line)
            self.add(value, 1, line)
            self.register(ev.anchor, value, 1)
        elif isinstance(ev, yaml.AliasEvent):
            if ev.anchor in self.open_anchors:
                raise self.fail(line, f"alias *{ev.anchor} refers to a collection that contains it",
                                self.child_path())
            if ev.anchor not in self.anchors:
                raise self.fail(line, f"alias *{ev.anchor} names no anchor defined before it",
                                self.child_path())
            value, size = self.anchors[ev.anchor]
            self.add(value, size, line, new=size)
        elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(self.stack) >= MAX_DEPTH:
                raise self.too_deep(line)
            if ev.tag not in (None, "!", _COLLECTION_TAGS[type(ev)]):
                self.note(line, f"YAML tag {_show_tag(ev.tag)} is not allowed: a scenario holds "
                          "only plain text, numbers, booleans, lists and mappings", self.child_path())
            path = self.child_path()
            if self.stack and isinstance(self.stack[-1].value, list):
                self.lines[path] = line
            if ev.anchor is not None:
                self.open_anchors.add(ev.anchor)
            container: dict[str, object] | list[object] = (
                {} if isinstance(ev, yaml.MappingStartEvent) else [])
            self.stack.append(_Frame(container, path, line, ev.anchor, bool(ev.flow_style)))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = self.stack.pop()
            self.add(frame.value, frame.size, frame.line)
            self.register(frame.anchor, frame.value, frame.size)
        elif isinstance(ev, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail(line, "more than one YAML document; a scenario is one document")


def dotted(path: Path) -> str:
    """``servers.mail.restart.every``, with list items as ``targets[1]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_LIBYAML_DEPTH_PROBLEM = "exceeded maximum nesting depth"
"""libyaml's own nesting limit (1000 levels, from 0.2.5), far beyond ``MAX_DEPTH``."""


def load_yaml(text: str, filename: str) -> Document:
    """Parse one YAML document into plain data; raise :class:`ScenarioError` on any problem."""
    builder = _Builder(filename)
    try:
        loader = _Loader(text)  # the pure-Python reader checks characters already here
        try:
            while loader.check_event():
                builder.event(loader.get_event())
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = None if mark is None else mark.line + 1
        if _LIBYAML_DEPTH_PROBLEM in (e.problem or ""):
            raise builder.too_deep(line) from None
        syntax = yamlwords.explain(e, text)
        raise builder.fail(syntax.line, f"not valid YAML: {syntax.message}") from None
    except yaml.reader.ReaderError as e:
        # libyaml's position counts UTF-8 bytes, PyYAML's characters; the first occurrence of
        # the refused character is the one refused, whichever counted.
        at = text.find(chr(e.character))
        line = text.count("\n", 0, at) + 1 if at >= 0 else None
        raise builder.fail(line, f"not valid YAML text: character U+{e.character:04X}; control "
                           "characters are not allowed") from None
    except yaml.YAMLError as e:
        reason = str(e).splitlines()[0]
        raise builder.fail(None, f"not valid YAML text: {reason}") from None
    if builder.problems:
        raise ScenarioError(builder.problems)
    if builder.root is _NOTHING or builder.root is None:
        raise builder.fail(1, "the file is empty; expected a mapping with name, timeline, "
                           "servers and attackers")
    if not isinstance(builder.root, dict):
        kind = "a list" if isinstance(builder.root, list) else f"a single value ({builder.root!r:.40})"
        raise builder.fail(1, f"expected a mapping of fields at the top level, got {kind}")
    return Document(builder.root, builder.lines)
