"""Seed datasets: the bundled fixture and a generator for scale runs.

python -m staffsync.dataset --periods 17 --staff-per-period 500 --out big.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from staffsync.periods import month_periods

FIRST_NAMES = [
    "Aiko",
    "Ben",
    "Chiara",
    "Dmitri",
    "Emeka",
    "Farah",
    "Goro",
    "Hana",
    "Ivan",
    "Jun",
    "Kenji",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomoko",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yuki",
    "Zara",
    "Akira",
    "Bianca",
    "Carlos",
    "Daria",
]
LAST_NAMES = [
    "Sato",
    "Novak",
    "Rossi",
    "Ivanova",
    "Okafor",
    "Haddad",
    "Tanaka",
    "Kim",
    "Petrov",
    "Lee",
    "Mori",
    "Schmidt",
    "Garcia",
    "Aziz",
    "Patel",
    "Hughes",
    "Silva",
    "Berg",
    "Ito",
    "Khan",
    "Costa",
    "Zhang",
    "Lopez",
    "Abe",
    "Ali",
]
POSITIONS = {
    "Head Chef": "Kitchen",
    "Sous Chef": "Kitchen",
    "Line Cook": "Kitchen",
    "Prep Cook": "Kitchen",
    "Dishwasher": "Kitchen",
    "Server": "Floor",
    "Host": "Floor",
    "Cashier": "Floor",
    "Bartender": "Bar",
    "Manager": "Office",
}
TYPES = ("full_time", "full_time", "part_time", "contract")


def generate(
    periods: int, staff_per_period: int, seed: int = 7, first_month: str = "2025-09"
) -> dict[str, Any]:
    """A dataset where each period holds about `staff_per_period` members.

    A third of the staff stay for every period; the rest join and leave, staying
    2 to 9 periods, so that membership differs from period to period.
    """
    rng = random.Random(seed)
    months = month_periods(first_month, periods)
    core = max(1, staff_per_period // 3)
    churn_per_period = staff_per_period - core
    mean_stay = 5.5
    churners = max(0, round(churn_per_period * periods / mean_stay))
    rows: list[dict[str, Any]] = []
    for n in range(core + churners):
        if n < core:
            start, end = months[0].start.isoformat(), None
        else:
            first = rng.randint(-4, periods - 1)
            last = first + rng.randint(2, 9) - 1
            first = max(first, 0)
            start = months[first].start.replace(day=rng.randint(1, 20)).isoformat()
            end = (
                None
                if last >= periods - 1
                else months[last].start.replace(day=rng.randint(10, 28)).isoformat()
            )
        position = rng.choice(list(POSITIONS))
        rows.append(
            {
                "id": f"stf-{n + 1:05d}",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "position": position,
                "department": POSITIONS[position],
                "type": rng.choice(TYPES),
                "status": "active",
                "staffOrder": n,
                "startPeriod": start,
                "endPeriod": end,
            }
        )
    return {"firstMonth": first_month, "staff": rows}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data.get("staff"), list) or not isinstance(data.get("firstMonth"), str):
        raise ValueError(f"{path}: a dataset needs 'firstMonth' and a 'staff' list")
    return data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a staff dataset for staffsync.")
    parser.add_argument("--periods", type=int, default=17, help="number of periods (17)")
    parser.add_argument(
        "--staff-per-period", type=int, default=18, help="members per period, about (18)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--out", type=Path, required=True, help="file to write")
    args = parser.parse_args(argv)
    data = generate(args.periods, args.staff_per_period, args.seed)
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['staff'])} staff for {args.periods} periods to {args.out}")


if __name__ == "__main__":
    main()
