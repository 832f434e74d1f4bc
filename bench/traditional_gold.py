"""A gold question set with its Chinese questions in traditional characters as written in
Taiwan (OpenCC s2twp), everything else as it is: to measure traditional questions over the
same documents.

    .venv/bin/python bench/traditional_gold.py seeds/xiaomi-lei-jun-traffic-carmaking.gold.jsonl OUT
    bin/qa eval OUT --docs seeds/
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmrc import taiwan_traditional  # noqa: E402


def convert_gold(source: Path, target: Path) -> int:
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [dict(r, question=taiwan_traditional(r["question"])) if r.get("lang") == "zh" else r for r in rows]
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return sum(r.get("lang") == "zh" for r in rows)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: traditional_gold.py GOLD OUT")
    print(f"{convert_gold(Path(sys.argv[1]), Path(sys.argv[2]))} questions converted")
