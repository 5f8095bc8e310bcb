"""`python -m e2e.conditions`: the profiles with their figures, and the nightly matrix.

python -m e2e.conditions                    # every profile, and the matrix
python -m e2e.conditions mobile-4g,tokyo    # one combination's figures
python -m e2e.conditions --names matrix     # the matrix's combinations, one a line
"""

from __future__ import annotations

import sys

from e2e.conditions.profiles import MATRIX, UnknownConditions, catalogue, combine, parse


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--names"] and len(argv) == 2:  # for scripts: one combination a line
        try:
            print("\n".join(c.name for c in parse(argv[1])))
        except UnknownConditions as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    if argv:  # one name or combination: its figures, or why it is not one
        try:
            for c in parse(argv[0]):
                print(f"{c.name}: {c.describe()}")
        except UnknownConditions as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    data = catalogue()
    width = max(len(n) for n in data["profiles"])
    for name in data["profiles"]:
        c = combine([name], data)
        print(f"{name:{width}}  {c.describe()}\n{'':{width}}  {c.about}")
    print(f"\n{MATRIX} (the nightly, one pass each): {', '.join(data[MATRIX])}")
    print("combine with commas: --conditions mobile-4g,tokyo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
