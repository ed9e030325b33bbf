"""The small language of reply templates: what a user-written template may say, the sandbox it runs in, and
the checks made before it is compiled (layers 1 and 2 of :mod:`bot.templating.behavior_templates`, and the
sandbox of layer 3).

- :func:`parse_checked`: a pass over Jinja's tokens (linear, no recursion) refuses a template nested more than
  :data:`MAX_DEPTH` levels before the parser sees it; the parsed tree must then be at most :data:`MAX_DEPTH`
  levels deep and :data:`MAX_NODES` nodes, and every node on the allow-list: text, ``{{ ... }}``, ``{% if %}``,
  the names :data:`NAMES`, constants, comparisons, ``and``/``or``/``not``, ``~`` and the filters :data:`FILTERS`.
- :data:`SANDBOX`: Jinja2's ``ImmutableSandboxedEnvironment`` with no globals, only the allowed filters and tests,
  every arithmetic operator intercepted and refused, ``StrictUndefined``, and no constant folding.

Every refusal is a :class:`~bot.core.errors.DomainError` with a sentence for the template's owner.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core.errors import DomainError

NAMES = ("persona", "author", "mood", "time")
FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "trim", "truncate", "default", "d", "length", "count", "first", "last"}
)
TESTS = frozenset({"defined", "undefined", "none", "string", "number", "eq", "ne", "in", "lower", "upper"})
MAX_NODES = 300
# Levels of nesting (the whole template is level 1, each text or {{ }} level 2): a real reply template needs
# fewer than ten; Python's compiler refuses generated code nested about a hundred levels deep.
MAX_DEPTH = 24

_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)
_WHY_NOT: dict[type[nodes.Node], str] = {
    nodes.For: "loops",
    nodes.Call: "calling functions",
    nodes.Getattr: "attributes (a.b)",
    nodes.Getitem: "indexing (a[b])",
    nodes.Slice: "slices",
    nodes.BinExpr: "arithmetic",
    nodes.UnaryExpr: "arithmetic",
    nodes.Assign: "setting variables",
    nodes.AssignBlock: "setting variables",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.FilterBlock: "filter blocks",
    nodes.With: "with blocks",
    nodes.Block: "blocks",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "imports",
    nodes.FromImport: "imports",
    nodes.Dict: "dictionaries",
}
# Tokens the parser recurses on, or that nest the tree one level each, counted by the scan before parsing.
_OPENERS = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSERS = frozenset({"rparen", "rbracket", "rbrace"})
_NESTING_NAMES = frozenset({"not", "if", "else"})
_NESTING_OPERATORS = frozenset({"add", "sub"})  # unary signs (binary ones are refused later as arithmetic)
_BLOCKS_WITH_END = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans"})
TOO_DEEP = f"The reply template is nested too deeply (more than {MAX_DEPTH} levels); make it simpler."


class _ReplySandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every binary operator intercepted (the checker already refuses them: defence in
    depth) and no constant folding (it would run filters while compiling, and costs more than linear time in an
    expression's depth)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError("arithmetic is not available in reply templates")

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        raise SecurityError("arithmetic is not available in reply templates")


def _sandbox() -> _ReplySandbox:
    env = _ReplySandbox(undefined=jinja2.StrictUndefined, autoescape=False, optimized=False)
    env.globals.clear()
    env.filters = {name: f for name, f in env.filters.items() if name in FILTERS}
    env.tests = {name: t for name, t in env.tests.items() if name in TESTS}
    return env


SANDBOX = _sandbox()  # shared: it holds no per-render state


def _refuse(what: str, node: nodes.Node) -> DomainError:
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    return DomainError(
        f"Reply templates cannot use {what}{where}; they may use text, {{{{ name }}}}, {{% if %}} and simple filters."
    )


# ----------------------------------------------------------------------------------------------------
# Checking before compiling


def _scan_nesting(source: str) -> None:
    """Refuse, from Jinja's tokens alone (linear, no recursion), a template whose blocks, brackets and nesting
    operators go deeper than :data:`MAX_DEPTH`: the parser recurses on them."""
    blocks = brackets = operators = 0
    in_block = False
    tag: str | None = None
    for token in SANDBOX.lexer.tokenize(source):
        kind = token.type
        if kind == "block_begin":
            in_block, tag = True, None
            continue
        if kind in ("block_end", "variable_end"):
            if tag is not None and tag.startswith("end"):
                blocks = max(0, blocks - 1)
            elif tag in _BLOCKS_WITH_END:
                blocks += 1
            in_block, tag, brackets, operators = False, None, 0, 0
        elif in_block and tag is None and kind == "name":
            tag = str(token.value)
        elif kind in _OPENERS:
            brackets += 1
        elif kind in _CLOSERS:
            brackets -= 1
        elif (kind == "name" and token.value in _NESTING_NAMES) or kind in _NESTING_OPERATORS:
            operators += 1
        if blocks + brackets + operators > MAX_DEPTH:
            raise DomainError(TOO_DEEP)


def _check_tree(tree: nodes.Template) -> None:
    """Every node allowed (module docstring), at most :data:`MAX_NODES` of them and :data:`MAX_DEPTH` levels
    deep (walked with a stack, not recursion)."""
    count = 0
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise DomainError(f"The reply template is too complex (more than {MAX_NODES} parts).")
        if depth > MAX_DEPTH:
            raise DomainError(TOO_DEEP)
        if not isinstance(node, _ALLOWED_NODES):
            kind = next((why for cls, why in _WHY_NOT.items() if isinstance(node, cls)), type(node).__name__)
            raise _refuse(kind, node)
        if isinstance(node, nodes.Name):
            if node.ctx != "load" or node.name not in NAMES:
                raise DomainError(f"The reply template uses '{node.name}'; the names available are {', '.join(NAMES)}.")
        elif isinstance(node, nodes.Filter):
            if node.name not in FILTERS or node.dyn_args is not None or node.dyn_kwargs is not None:
                raise DomainError(
                    f"The reply template uses the filter '{node.name}'; the filters available are "
                    f"{', '.join(sorted(FILTERS))}."
                )
        elif isinstance(node, nodes.Test):
            if node.name not in TESTS or node.dyn_args is not None or node.dyn_kwargs is not None:
                raise DomainError(f"The reply template uses the test '{node.name}', which is not available.")
        elif isinstance(node, nodes.Const) and isinstance(node.value, int | float) and abs(node.value) > 10_000:
            raise DomainError("The reply template uses a number larger than 10,000.")
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def parse_checked(source: str) -> nodes.Template:
    """The parsed tree of ``source`` once every check above passed (nesting scanned first, then the tree);
    :class:`DomainError` with a sentence otherwise."""
    try:
        _scan_nesting(source)
        tree = SANDBOX.parse(source)
    except TemplateSyntaxError as error:
        raise DomainError(f"The reply template has a syntax error on line {error.lineno}: {error.message}.") from None
    except RecursionError:  # the scan above prevents it; kept so nothing but a sentence can come out
        raise DomainError(TOO_DEEP) from None
    _check_tree(tree)
    _check_single_braces(tree)
    return tree


_SINGLE_BRACED = re.compile(r"(?<!\{)\{\s*(" + "|".join(NAMES) + r")\s*\}(?!\})")


def _check_single_braces(tree: nodes.Template) -> None:
    """A name in single braces (``{author}``, as other bots write it) would be sent as those characters: refused
    with the syntax that works."""
    for data in tree.find_all(nodes.TemplateData):
        found = _SINGLE_BRACED.search(data.data)
        if found is not None:
            name = found.group(1)
            raise DomainError(
                f"The reply template writes {found.group(0)}, which would be sent as it is: "
                f"names go in double braces, like {{{{ {name} }}}}."
            )
