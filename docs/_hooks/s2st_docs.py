"""MkDocs hook: pages generated from the code, so they cannot drift from it.

- ``<!-- s2st:languages-table -->``: the supported-language table, from
  ``s2st.languages.SUPPORTED_LANGUAGES``, with the code each setup dialect sends
  (``wire_language_code(code, dialect)``).
- ``<!-- s2st:error-tree -->``: the exception tree, from the classes themselves.
"""

from __future__ import annotations

from typing import Any

LANGUAGES_MARKER = "<!-- s2st:languages-table -->"
ERROR_TREE_MARKER = "<!-- s2st:error-tree -->"


def languages_table() -> str:
    """A Markdown table: one row per supported language."""
    from s2st.languages import SUPPORTED_LANGUAGES, wire_language_code

    rows = [
        "| name | `s2st` dialect sends | `live_translate` dialect sends |",
        "|---|---|---|",
    ]
    for code, name in sorted(SUPPORTED_LANGUAGES.items(), key=lambda item: item[1]):
        s2st_code = wire_language_code(code, "s2st")
        tag = wire_language_code(code, "live_translate")
        rows.append(f"| {name} | `{s2st_code}` | `{tag}` |")
    return "\n".join(rows)


def _public_errors() -> list[type[BaseException]]:
    import s2st

    found = [getattr(s2st, name) for name in s2st.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, s2st.S2STError)]


def error_tree() -> str:
    """The exception tree as a fenced text block, built-in mix-ins in parentheses."""
    import s2st

    classes = _public_errors()
    lines: list[str] = []

    def walk(cls: type[BaseException], prefix: str, last: bool, top: bool) -> None:
        mixins = [b.__name__ for b in cls.__bases__ if not issubclass(b, s2st.S2STError)]
        label = cls.__name__ + (f" ({', '.join(mixins)})" if mixins else "")
        lines.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        children = [c for c in classes if cls in c.__bases__]
        child_prefix = "" if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(children):
            walk(child, child_prefix, i == len(children) - 1, False)

    walk(s2st.S2STError, "", True, True)
    return "```text\n" + "\n".join(lines) + "\n```"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if LANGUAGES_MARKER in markdown:
        markdown = markdown.replace(LANGUAGES_MARKER, languages_table())
    if ERROR_TREE_MARKER in markdown:
        markdown = markdown.replace(ERROR_TREE_MARKER, error_tree())
    return markdown
