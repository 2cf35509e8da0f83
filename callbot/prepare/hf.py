"""records.parquet -> the Hugging Face datasets the trainers read (contract in ``schema.py``).

``stt`` carries the audio as a path (``Audio(decode=False)``: decoding needs torchcodec, which is not
installable here; the STT trainer decodes with soundfile), relative to the dataset's folder
(:func:`callbot.contracts.stt_audio_file` resolves it). ``llm`` turns records into chat examples
for four tasks; the instruction wording lives in params.yaml (``prepare.templates``) so it can be tuned
without touching code. Both are written next to their final place and swapped in, so a crash leaves
the previous dataset intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from callbot.atomic import replace_dir
from callbot.contracts import stt_audio_ref
from callbot.prepare.adapters import datasets_feeding
from callbot.prepare.params import PrepareParams, TemplateParams
from callbot.prepare.schema import EMOTIONS, INTENTS, SPLITS

__all__ = ["LLM_TASKS", "STT_COLUMNS", "llm_examples", "write_llm", "write_stt"]

STT_COLUMNS = (
    "utterance_id",
    "text",
    "text_raw",
    "role",
    "occupation",
    "gender",
    "age_range",
    "experience",
    "dataset",  # the adapter's name: STT metrics sliced by source
    "voice",  # call-centre caller voice (화자음성), null for interviews
    "channel",  # wideband | phone (interviews: MOCK | FACE-TO-FACE); the WAV's own rate is kept
)
LLM_TASKS = ("ars", "summary", "emotion", "intent")
_SLICES = ("occupation", "gender", "age_range", "experience")
_BATCH = 8192


def _fresh_tmp(final: Path) -> Path:
    tmp = final.with_name(f".{final.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    return tmp


def _quiet() -> None:
    from datasets import disable_progress_bars

    from callbot.console import progress_enabled

    if not progress_enabled():
        disable_progress_bars()


def _fingerprint(records: Path, name: str, split: str) -> str:
    """A fingerprint from the records file's bytes. Without one, datasets hashes the pickled
    in-memory table itself, which briefly needs a Python copy of it (1 GB at full scale)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(records, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"\x00{name}\x00{split}".encode())
    return digest.hexdigest()


def _save(splits: Any, path: Path) -> None:
    """``save_to_disk``, forcing one shard for an empty split (zero shards would not load back)."""
    splits.save_to_disk(
        str(path), num_shards={name: 1 if len(ds) == 0 else None for name, ds in splits.items()}
    )


def _declare_audio(saved: Path) -> None:
    """Mark the saved ``audio`` struct as ``Audio(decode=False)`` in every split's dataset_info.json.

    ``save_to_disk`` always embeds the bytes of an Audio column's files into the arrow shards: a
    full copy of every WAV (hundreds of GB on the real set). The column is therefore saved as its
    storage type, a ``{bytes, path}`` struct with null bytes, and declared Audio afterwards, which
    is exactly what ``load_from_disk`` reads back.
    """
    for info_path in saved.glob("*/dataset_info.json"):
        info = json.loads(info_path.read_text(encoding="utf-8"))
        info["features"]["audio"] = {"decode": False, "_type": "Audio"}
        info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")


def write_stt(records: Path, raw_root: Path, out: Path) -> dict[str, int]:
    """``out`` = DatasetDict(train/validation/test) of every record with audio; rows per split."""
    from datasets import Dataset, DatasetDict, DatasetInfo, Features, Value

    _quiet()
    features = Features(
        {
            "utterance_id": Value("string"),
            "audio": {"bytes": Value("binary"), "path": Value("string")},
            "text": Value("string"),
            "text_raw": Value("string"),
            "duration_s": Value("float64"),
            "role": Value("string"),
            **{k: Value("string") for k in (*_SLICES, "dataset", "voice", "channel")},
        }
    )
    # arrow compute end to end: no Python object per row (the full set has 168k long transcripts)
    table = pq.read_table(records, columns=[*STT_COLUMNS, "audio_path", "duration_actual_ms", "split"])
    table = table.filter(
        pc.and_(
            pc.is_valid(table["audio_path"]), pc.is_in(table["dataset"], pa.array(datasets_feeding("stt")))
        )
    )
    root = stt_audio_ref(out, raw_root) + "/"  # relative to out: no absolute path in the dataset
    splits: dict[str, Dataset] = {}
    for split in SPLITS:
        part = table.filter(pc.equal(table["split"], split))
        paths = pc.binary_join_element_wise(root, part["audio_path"], "").combine_chunks()
        audio = pa.StructArray.from_arrays(
            [pa.nulls(len(paths), pa.binary()), paths], names=["bytes", "path"]
        )
        columns = {name: part[name] for name in STT_COLUMNS}
        columns["audio"] = audio
        columns["duration_s"] = pc.divide(part["duration_actual_ms"], 1000.0)
        arrow = pa.table({name: columns[name] for name in features}).cast(features.arrow_schema)
        splits[split] = Dataset(
            arrow, info=DatasetInfo(features=features), fingerprint=_fingerprint(records, "stt", split)
        )
    tmp = _fresh_tmp(out)
    _save(DatasetDict(splits), tmp)
    _declare_audio(tmp)
    replace_dir(tmp, out)
    return {split: len(ds) for split, ds in splits.items()}


def _chat(system: str, user: str, assistant: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
        {"role": "assistant", "content": assistant},
    ]


def _exchanges(turns: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(caller rows, counsellor rows) for each caller run answered by a counsellor run."""
    asked: list[dict[str, Any]] = []
    answer: list[dict[str, Any]] = []
    for row in turns:
        if row["speaker"] == "customer":
            if answer:
                yield asked, answer
                asked, answer = [], []
            asked.append(row)
        elif asked:
            answer.append(row)
    if asked and answer:
        yield asked, answer


def _ars_examples(table: pa.Table, templates: TemplateParams) -> Iterator[dict[str, Any]]:
    """Caller sentences followed by the counsellor's reply, per dialogue in turn order."""
    dialogues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table.to_pylist():
        dialogues[row["interview_id"]].append(row)
    for dialogue_id in sorted(dialogues):
        turns = sorted(dialogues[dialogue_id], key=lambda r: r["turn"])
        for asked, answer in _exchanges(turns):
            reply = " ".join(r["text_raw"] for r in answer)
            user = templates.ars.format(text=" ".join(r["text_raw"] for r in asked))
            yield {
                "id": f"ars:{answer[0]['utterance_id']}",
                "task": "ars",
                "messages": _chat(templates.ars_system, user, reply),
                "reference": reply,
                "split": answer[0]["split"],
                "intent": asked[-1][
                    "intent_expression"
                ],  # the caller's 고객의도 (범위외:<kind> out of scope)
            }


def llm_examples(records: Path, params: PrepareParams) -> Iterator[dict[str, Any]]:
    """Every chat example of every task, with its split; deterministic order."""
    t = params.templates
    needed = ["dataset", "domain", "role", "utterance_id", "interview_id", "text_raw", "speaker", "turn"]
    needed += ["intent_expression"]
    needed += ["summary", "emotion", "intent", "split", *_SLICES]
    table = pq.read_table(records, columns=needed)
    calls = table.filter(
        pc.and_(
            pc.is_in(table["dataset"], pa.array(datasets_feeding("ars"))),
            pc.is_in(table["domain"], pa.array(params.ars_domains)),
        )
    )
    yield from _ars_examples(
        calls.select(
            ["utterance_id", "interview_id", "text_raw", "speaker", "turn", "split", "intent_expression"]
        ),
        t,
    )
    columns = ["utterance_id", "text_raw", "summary", "emotion", "intent", "split", *_SLICES]
    tasks = (
        ("summary", "summary", t.summary, ""),
        ("emotion", "emotion", t.emotion, ", ".join(EMOTIONS)),
        ("intent", "intent", t.intent, ", ".join(INTENTS)),
    )
    for task, column, template, labels in tasks:
        fed = pc.is_in(table["dataset"], pa.array(datasets_feeding(task)))  # the adapters that feed it
        answers = table.filter(pc.and_(fed, pc.equal(table["role"], "answer"))).select(columns)
        for row in (r for batch in answers.to_batches(max_chunksize=_BATCH) for r in batch.to_pylist()):
            target = row[column]
            if not target:
                continue
            yield {
                "id": f"{task}:{row['utterance_id']}",
                "task": task,
                "messages": _chat(t.system, template.format(text=row["text_raw"], labels=labels), target),
                "reference": target,
                "split": row["split"],
                **{k: row[k] for k in _SLICES},
            }


def write_llm(records: Path, out: Path, jsonl: Path, params: PrepareParams) -> dict[str, dict[str, int]]:
    """``out`` = DatasetDict of chat examples, ``jsonl`` = the same one per line; counts per split and task."""
    from datasets import Dataset, DatasetDict, DatasetInfo, Features, List, Value

    _quiet()
    features = Features(
        {
            "id": Value("string"),
            "task": Value("string"),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "reference": Value("string"),
            **{k: Value("string") for k in _SLICES},
            "intent": Value("string"),  # ars: the caller's 고객의도; null for the interview tasks
        }
    )
    # rows become arrow batches every BATCH examples: memory holds compact arrow, not dicts
    schema = features.arrow_schema
    pending: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    batches: dict[str, list[pa.RecordBatch]] = {s: [] for s in SPLITS}
    counts: dict[str, dict[str, int]] = {s: dict.fromkeys(LLM_TASKS, 0) for s in SPLITS}

    def flush(split: str) -> None:
        if pending[split]:
            batches[split].append(pa.RecordBatch.from_pylist(pending[split], schema=schema))
            pending[split] = []

    tmp_jsonl = jsonl.with_name(f".{jsonl.name}.tmp")
    with open(tmp_jsonl, "w", encoding="utf-8") as handle:
        for example in llm_examples(records, params):
            split = example.pop("split")
            row = {name: example.get(name) for name in features}
            pending[split].append(row)
            counts[split][row["task"]] += 1
            handle.write(json.dumps({**row, "split": split}, ensure_ascii=False) + "\n")
            if len(pending[split]) >= _BATCH:
                flush(split)
    splits = {}
    for split in SPLITS:
        flush(split)
        table = pa.Table.from_batches(batches.pop(split), schema=schema)  # an empty split keeps its columns
        splits[split] = Dataset(
            table, info=DatasetInfo(features=features), fingerprint=_fingerprint(records, "llm", split)
        )
    tmp = _fresh_tmp(out)
    _save(DatasetDict(splits), tmp)
    replace_dir(tmp, out)
    os.replace(tmp_jsonl, jsonl)
    return counts
