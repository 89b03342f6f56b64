#!/usr/bin/env python3
"""Checks src/ against the floors of docs/ARCHITECTURE.md: no include points up a floor, and no
file is over the size limit. The build enforces the includes of compiled sources already (each
folder compiles against links to its own and lower folders only); this also covers headers and
prints every offence at once. Exit 1 on any offence.

Usage: tools/check_layers.py [SRC_DIR]"""
import os
import re
import sys

FLOORS = ["core", "io", "engine", "models", "guide", "pipeline", "eval"]
MAX_LINES = 800
# Files over the limit with the issue that splits them.
OVER_LIMIT_OK: dict[str, str] = {}


def main() -> int:
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    offences = []
    for folder, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, src)
            floor = rel.split(os.sep)[0]
            if floor not in FLOORS:
                offences.append(f"{rel}: folder '{floor}' is not a floor ({', '.join(FLOORS)})")
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
            if len(lines) > MAX_LINES and rel not in OVER_LIMIT_OK:
                offences.append(f"{rel}: {len(lines)} lines, over {MAX_LINES}")
            for number, line in enumerate(lines, 1):
                m = re.match(r'\s*#\s*include\s+"([a-z_]+)/', line)
                if m and m.group(1) in FLOORS and FLOORS.index(m.group(1)) > FLOORS.index(floor):
                    offences.append(f"{rel}:{number}: includes {m.group(1)}/, a floor above {floor}/")
    for o in offences:
        print(o)
    print(f"check_layers: {len(offences)} offence(s)")
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main())
