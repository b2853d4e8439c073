"""Record the golden outputs of the CLI, or compare the current ones with them.

    .venv/bin/python tests/golden/record.py            # which cases differ, and where; exit 1 if any do
    .venv/bin/python tests/golden/record.py --update   # rewrite tests/golden/cases/ from the code as it is

The cases: ``grad --json``, ``check --json`` and ``render -o X.dot`` of every graph file in graphs/, and every
``$ gradlab grad`` / ``$ gradlab check`` console example of README.md and docs/ (with ``--json`` added).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import sys
from pathlib import Path

# this checkout's gradlab, not whichever one the environment has installed (a worktree shares a venv)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from compare import ROOT, TMP, compare_case, run, summary  # noqa: E402

CASES = Path(__file__).resolve().parent / "cases"
COMMANDS = {"grad", "check"}
WRITES = {"-o", "--output", "--steps"}


def console_commands(page: Path) -> list[list[str]]:
    """The ``$ gradlab ...`` lines of a page's console blocks as argv (without ``gradlab``), leaving out
    lines with pipes, redirections or other shell features."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), re.S):
        for line in re.findall(r"^\$ (gradlab .*)$", block.replace("\\\n", " "), re.M):
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words = list(lexer)  # comments dropped; unquoted | > < ; & ( ) become words of their own
            if not any(set(w) <= set(lexer.punctuation_chars) for w in words):
                found.append(words[1:])
    return found


def cases() -> dict[str, list[str]]:
    """Every case's name and argv."""
    found: dict[str, list[str]] = {}
    for f in sorted(ROOT.glob("graphs/*.toml")):
        rel = f.relative_to(ROOT).as_posix()
        found[f"graphs__{f.name}__grad"] = ["grad", rel, "--json"]
        found[f"graphs__{f.name}__check"] = ["check", rel, "--json"]
        found[f"graphs__{f.name}__render"] = ["render", rel, "-o", f"{TMP}/graph.dot"]
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for argv in console_commands(page):
            if argv[0] not in COMMANDS or WRITES & set(argv):
                continue
            argv += [] if "--json" in argv else ["--json"]
            if argv not in found.values():
                digest = hashlib.sha1(shlex.join(argv).encode()).hexdigest()[:8]
                source = page.relative_to(ROOT).as_posix().replace("/", "__")
                found[f"{source}__{argv[0]}-{digest}"] = argv
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the stored cases from the current code")
    update = parser.parse_args().update
    wanted = cases()
    stored = {p.stem: p for p in sorted(CASES.glob("*.json"))}
    if update:
        CASES.mkdir(exist_ok=True)
        for name in stored.keys() - wanted.keys():
            stored[name].unlink()
            print(f"removed {name}")
        for name, argv in wanted.items():
            (CASES / f"{name}.json").write_text(json.dumps(run(argv), indent=1, ensure_ascii=False) + "\n")
        print(f"recorded {len(wanted)} cases in {CASES.relative_to(ROOT)}")
        return 0
    bad = 0
    for name in sorted(stored.keys() | wanted.keys()):
        if name not in stored or name not in wanted:
            print(f"{name}: {'not recorded yet' if name in wanted else 'recorded, but no longer a case'}")
            bad += 1
            continue
        case = json.loads(stored[name].read_text())
        diffs = compare_case(case, run(case["argv"]))
        if diffs:
            print(f"{name}: {len(diffs)} differences\n{summary(diffs)}")
            bad += 1
    print(f"{bad} of {len(stored.keys() | wanted.keys())} cases differ" if bad else f"all {len(stored)} cases match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
