"""DVC as the shared memory of both entrances.

`dvc repro` and the Prefect flow agree because they consult the same record: a stage is up to date
when `dvc status` says its deps (data and its own code), params section and outs match dvc.lock.
The flow asks before running a stage and commits the stage's lock entry after it, so after a Prefect
run `dvc repro` has nothing to do, and after `dvc repro` the flow finds every stage cached.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_LOCK = (
    threading.Lock()
)  # DVC's repo lock is a lock file: serialise our own threads first, wait for other processes


class DvcError(RuntimeError):
    """A DVC operation failed; the message says which stage and what to do."""


class _EmptyQuarantine:
    """Drops DVC's warning that a quarantine file is empty (its output log's one record of that kind)."""

    def filter(self, record: Any) -> bool:
        message = record.getMessage()
        return not (message.endswith("' is empty.") and "quarantine" in message)


def open_repo(root: Path) -> Any:
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    import logging

    from dvc.repo import Repo

    # DVC's own CLI chatter ("Updating lock file 'dvc.lock'") on INFO; its warnings and errors stay,
    # except "'<x>quarantine<y>' is empty.": no row quarantined is the good case, not a warning
    logging.getLogger("dvc").setLevel(logging.WARNING)
    output_log = logging.getLogger("dvc.output")
    if not any(isinstance(f, _EmptyQuarantine) for f in output_log.filters):
        output_log.addFilter(_EmptyQuarantine())

    try:
        return Repo(str(root), _wait_for_lock=True)  # other processes (Dask workers) may hold it
    except Exception as exc:
        raise DvcError(
            f"{root}: not a DVC repository ({exc}); run `dvc init` in the repository root"
        ) from None


def _target(root: Path, stage: str) -> str:
    """``<root>/dvc.yaml:<stage>``: DVC reads a bare stage name against the working directory, and
    the flows never change it (their root is a parameter)."""
    return f"{Path(root).resolve() / 'dvc.yaml'}:{stage}"


def stage_status(root: Path, stage: str) -> dict[str, Any]:
    """`dvc status <stage>`: an empty dict when the stage is up to date."""
    with _LOCK:
        repo = open_repo(root)
        try:
            return dict(repo.status(targets=[_target(root, stage)]))
        finally:
            repo.close()


def is_up_to_date(root: Path, stage: str) -> bool:
    return not stage_status(root, stage)


def remove_outs(root: Path, stage: str) -> None:
    """Delete the stage's outputs but the persistent ones, as `dvc repro` does before running it, so a
    stage never finds (and trusts) a previous run's half-written output."""
    with _LOCK:
        repo = open_repo(root)
        try:
            with repo.lock:
                (spec,) = repo.stage.collect(_target(root, stage))
                spec.remove_outs(ignore_remove=False, force=False)
        except Exception as exc:
            raise DvcError(f"removing the outputs of {stage} failed: {exc}") from exc
        finally:
            repo.close()


@contextmanager
def _working_in(root: Path) -> Iterator[None]:
    """DVC's run cache resolves ``dvc.yaml`` against the working directory (a library limitation):
    only its commit runs from ``root``, under ``_LOCK``, and the directory is restored at once. Our
    own code never reads a relative path (the flows pass ``root``; stage commands get ``cwd``)."""
    before = os.getcwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(before)


def commit_stage(root: Path, stage: str) -> None:
    """Record the stage's current deps, params and outs in dvc.lock (and outs in the DVC cache)."""
    with _LOCK, _working_in(root):
        repo = open_repo(root)
        try:
            repo.commit(_target(root, stage), force=True)
        except Exception as exc:
            raise DvcError(f"dvc commit {stage} failed: {exc}") from exc
        finally:
            repo.close()


def push(root: Path, stages: list[str] | None = None) -> int:
    """`dvc push` of ``stages``' outputs (all when None) to the default remote; the local remote
    directory is created on first use. Naming the stages a run brought up to date matters: dvc.lock
    (from git) also lists outputs of stages this checkout never ran, whose cache files are nowhere
    here, and a bare push reports each of them as a missing cache file."""
    with _LOCK:
        repo = open_repo(root)
        try:
            remote = repo.config["core"].get("remote")
            if remote:
                url = repo.config["remote"][remote].get("url", "")
                if "://" not in url:  # a relative local remote is relative to .dvc/, as DVC reads it
                    (Path(root) / ".dvc" / os.path.expanduser(url)).mkdir(parents=True, exist_ok=True)
            return int(repo.push(targets=[_target(root, s) for s in stages] if stages else None))
        except Exception as exc:
            raise DvcError(
                f"dvc push failed: {exc}; check `dvc remote list` and the remote's access"
            ) from exc
        finally:
            repo.close()


def track(root: Path, path: Path) -> str:
    """`dvc add PATH`: keep a file the pipeline does not produce (review corrections) in the DVC cache;
    returns the .dvc file to commit to git."""
    with _LOCK:
        repo = open_repo(root)
        try:
            repo.add([str(Path(root).resolve() / path)])  # relative to the repository, not the cwd
        except Exception as exc:
            raise DvcError(f"dvc add {path} failed: {exc}") from exc
        finally:
            repo.close()
    return f"{path}.dvc"
