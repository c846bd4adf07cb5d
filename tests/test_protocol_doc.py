"""The protocol page the code cites exists, and every section a citation names is on it."""

from pathlib import Path
import re

ROOT = Path(__file__).parents[1]
PROTOCOL = ROOT / "docs" / "protocol.md"
CITATION = re.compile(r"docs/protocol\.md((?:,? ?§\d+(?: step \d+)?)+)")


def sources() -> dict[Path, str]:
    """Every Python file and script of the project (not the virtualenv), by path."""
    folders = [path for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith(".")]
    found = [
        *(path for folder in folders for path in folder.rglob("*.py")),
        *ROOT.glob("scripts/*"),
    ]
    return {path: path.read_text("utf-8") for path in found if path.is_file()}


def test_every_cited_section_of_the_protocol_page_exists() -> None:
    """A citation such as 'docs/protocol.md §4' names a numbered heading of that page."""
    sections = set(re.findall(r"^## (\d+)\. ", PROTOCOL.read_text("utf-8"), re.MULTILINE))
    cited = {
        (path.relative_to(ROOT).as_posix(), number)
        for path, text in sources().items()
        for match in CITATION.finditer(text)
        for number in re.findall(r"§(\d+)", match.group(1))
    }

    assert cited, "the code cites the protocol page"
    assert sorted((path, n) for path, n in cited if n not in sections) == []


def test_the_code_cites_nothing_outside_the_repository() -> None:
    """Research notes outside the repository are not there for a contributor to read."""
    outside = "../" + "shared/"  # Spelt apart so that this file does not match itself.
    assert [path for path, text in sources().items() if outside in text] == []
