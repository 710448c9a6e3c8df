"""scripts/dependency-graph on a synthetic module: folders A, B, C with A <-> B and C -> A.

Runs the script as a program (`--sources DIR`, so neither swift nor Package.swift is needed) and reads
its JSON, text and exit status. Run: python -m pytest Tests/scripts
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dependency-graph"

FILES = {
    "A/Alpha.swift": """
        struct Alpha {
            let partner: Beta
            struct Nested {}
        }
        """,
    "A/Alpha+Log.swift": """
        // Gamma is only named in this comment, /* and Gamma in /* a nested */ block */ too.
        extension Alpha {
            func describe() -> String { "Gamma \\(partner.name) \\"Gamma\\" " + #"Gamma \\(Gamma)"# }
            static let banner = \"\"\"
                Gamma in a multi-line string
                \"\"\"
        }
        """,
    "B/Beta.swift": """
        final class Beta {
            var name: String { "\\(Alpha.self)" }
        }
        private struct Hidden {}
        """,
    "C/Gamma.swift": """
        enum Gamma {
            static func make() -> Alpha? { nil }
        }
        protocol Delta {}
        typealias Epsilon = Int
        """,
    "C/Usage.swift": """
        struct Nested {}  // C's own Nested: not A's nested type, and no edge either way
        func use(_ value: Nested) -> Epsilon { 0 }
        """,
    "Root.swift": """
        let unused = 0
        """,
}


def write_tree(root):
    for relative, text in FILES.items():
        path = root / "Demo" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "Demo"


def run(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def sources(tmp_path):
    return write_tree(tmp_path)


def report(sources):
    result = run("--sources", str(sources), "--format", "json")
    assert result.returncode == 0, result.stderr
    (module,) = json.loads(result.stdout)["modules"]
    return module


def test_edges_name_the_types_that_cause_them(sources):
    module = report(sources)
    edges = {(e["from"], e["to"]): e["types"] for e in module["edges"]}
    assert edges == {("A", "B"): ["Beta"], ("B", "A"): ["Alpha"], ("C", "A"): ["Alpha"]}
    assert module["folders"] == [".", "A", "B", "C"]


def test_names_in_comments_and_strings_do_not_count(sources):
    module = report(sources)
    assert not any(e["to"] == "C" for e in module["edges"]), module["edges"]


def test_cycles_are_the_mutual_pair_only(sources):
    module = report(sources)
    assert module["cycles"] == {"pairs": [["A", "B"]], "components": []}


def test_a_longer_cycle_is_a_strongly_connected_component(sources):
    (sources / "C" / "UsesBeta.swift").write_text("let b: Beta? = nil\n")
    (sources / "B" / "UsesGamma.swift").write_text("let g: Gamma? = nil\n")
    module = report(sources)
    assert module["cycles"]["pairs"] == [["A", "B"], ["B", "C"]]
    assert module["cycles"]["components"] == [["A", "B", "C"]]


def test_text_output_lists_edges_cycles_and_summary(sources):
    result = run("--sources", str(sources))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  A -> B  (1 type, 1 use: Beta)" in lines
    assert "    A <-> B" in lines
    assert lines[-1].startswith("4 folders, 3 edges, 1 cycle (1 mutual pair,")


def test_fail_on_cycles_sets_the_exit_status(sources):
    assert run("--sources", str(sources), "--fail-on-cycles").returncode == 1
    (sources / "B" / "Beta.swift").write_text("final class Beta {}\n")
    acyclic = run("--sources", str(sources), "--fail-on-cycles", "--format", "json")
    assert acyclic.returncode == 0, acyclic.stderr
    (module,) = json.loads(acyclic.stdout)["modules"]
    assert module["cycles"] == {"pairs": [], "components": []}


def test_dot_output_marks_cycle_edges(sources):
    result = run("--sources", str(sources), "--format", "dot")
    assert result.returncode == 0, result.stderr
    assert '"Demo/A" -> "Demo/B" [label="1", color=red];' in result.stdout
    assert '"Demo/C" -> "Demo/A" [label="1"];' in result.stdout


def test_package_declarations_are_visible_to_other_folders(sources):
    # The model module marks what the runtime uses `package`: such a type is seen like an internal one.
    (sources / "D").mkdir()
    (sources / "D" / "Shared.swift").write_text(
        "package struct Shared {\n    package private(set) var count = 0\n}\n"
        "@available(*, deprecated) package final class Old {}\n"
    )
    (sources / "C" / "UsesShared.swift").write_text("let s: Shared? = nil\nlet o: Old? = nil\n")
    module = report(sources)
    edges = {(e["from"], e["to"]): e["types"] for e in module["edges"]}
    assert edges[("C", "D")] == ["Old", "Shared"]
