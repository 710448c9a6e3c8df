"""Every relative link in README.md, docs/*.md and the deployment guides reaches a file that exists, and its #anchor a heading.

Anchors follow GitHub's rule: the heading's text without markup, lower-cased, punctuation other than
`-` and `_` removed, spaces turned into `-`, and `-1`, `-2`… added to repeated headings. Links inside
code (fenced blocks, backticks) are text, not links. Run: python -m pytest Tests/scripts
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def documentation_files(root: Path) -> list[Path]:
    """README.md, docs/*.md, and the deployment guides k8s/README.md and deploy/README.md."""
    guides = [path for path in (root / "k8s" / "README.md", root / "deploy" / "README.md") if path.exists()]
    return [root / "README.md", *sorted((root / "docs").glob("*.md")), *guides]


def prose(markdown: str) -> str:
    """The text outside fenced code blocks and code spans (a code span keeps its place, empty)."""
    return CODE_SPAN.sub("``", FENCE.sub("", markdown))


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub generates for the headings of a Markdown file."""
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(FENCE.sub("", markdown)):
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))  # a link keeps its text
        text = re.sub(r"[`*_~]|<[^>]+>", "", text)
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def broken_links(root: Path) -> list[str]:
    """Each relative link of the documentation whose file or anchor does not exist, as `file: target`."""
    problems = []
    for page in documentation_files(root):
        text = page.read_text(encoding="utf-8")
        for match in LINK.finditer(prose(text)):
            target = match.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, …
                continue
            path_part, _, anchor = target.partition("#")
            destination = (page.parent / path_part).resolve() if path_part else page
            where = f"{page.relative_to(root)}: {target}"
            if not destination.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and destination.suffix == ".md":
                if anchor not in anchors(destination.read_text(encoding="utf-8")):
                    problems.append(f"{where} (no such heading)")
    return problems


def test_every_relative_link_of_the_documentation_resolves():
    assert (ROOT / "docs").is_dir()
    assert broken_links(ROOT) == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = prose((ROOT / "README.md").read_text(encoding="utf-8"))
    linked = {m.group(1).partition("#")[0] for m in LINK.finditer(readme)}
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in linked]
    assert unlinked == []


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "README.md").write_text("# Kubernetes\n")
    (tmp_path / "README.md").write_text(
        "# Sample\n\n## Two commands\n\n## Two commands\n\n"
        "[ok](docs/page.md#outbound-proxies-china-and-corporate-networks) [ok](#two-commands-1)\n"
        "[ok](k8s/README.md) [ok](k8s/) [ok](https://example.com/missing.md) `[code](missing.md)`\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#nowhere) [bad local](#two-commands-2)\n"
        "```\n[fenced](missing-too.md)\n```\n"
    )
    (tmp_path / "docs" / "page.md").write_text(
        "# Page\n\n## Outbound proxies (China and corporate networks)\n\n"
        "[ok](../README.md#sample) [ok](#page) [gone](../k8s/README.md#nothing) [gone](k8s/README.md)\n"
    )
    return tmp_path


def test_the_check_reports_missing_files_and_anchors_and_nothing_else(sample: Path):
    assert broken_links(sample) == [
        "README.md: docs/missing.md (no such file)",
        "README.md: docs/page.md#nowhere (no such heading)",
        "README.md: #two-commands-2 (no such heading)",
        "docs/page.md: ../k8s/README.md#nothing (no such heading)",
        "docs/page.md: k8s/README.md (no such file)",
    ]
