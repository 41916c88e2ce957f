"""The one headless pipeline: overlapped work gives identical output, output folders are
locked, write failures stop a run cleanly, bad links are reported, shards merge back.

Real photos (CrackForest), the tiny untrained model or real masks, real processes, and real
read-only / full file systems (tmpfs mounts; tests run as root, so permissions cannot be
relied on).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from file_checks import assert_only_complete_files

from crackinspector.cli import main
from crackinspector.core.errors import CrackInspectorError
from crackinspector.core.infer.predictor import Predictor
from crackinspector.core.pipeline.export import ExportOptions, run_export
from crackinspector.core.pipeline.inputs import Shard, collect_inputs
from crackinspector.core.pipeline.outputs import LOCK_NAME, FolderInUse, FolderLock
from crackinspector.core.pipeline.predict import PredictOptions, run_predict

REPO = Path(__file__).resolve().parents[2]
STEMS = ("001", "081", "097")


def copy_photos(crackforest: Path, folder: Path, stems=STEMS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for s in stems:
        shutil.copy(crackforest / "images" / f"{s}.jpg", folder / f"{s}.jpg")
    return folder


def summary_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in (".png", ".jpg")
    }


def without_times(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("created")
    for img in doc["images"]:
        img.pop("seconds")
    return doc


# ---------------------------------------------------------------- overlapping the work
def test_overlapped_run_writes_exactly_what_a_serial_run_writes(
    crackforest, tiny_model_path, tmp_path
) -> None:
    predictor = Predictor(tiny_model_path)
    photos = [crackforest / "images" / f"{s}.jpg" for s in STEMS]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    inputs = [photos[0], broken, *photos[1:]]
    results = {}
    for overlap in (False, True):
        opts = ExportOptions(
            tmp_path / f"out-{overlap}", formats=("json", "csv"), overlays=True, masks=True,
            prob=True, threshold=0.6, overlap=overlap,
        )  # fmt: skip
        results[overlap] = run_export(inputs, predictor, opts)
    serial, overlapped = results[False], results[True]
    assert [r.status for r in overlapped.records] == ["ok", "failed", "ok", "ok"]
    assert tree(serial.out_dir) == tree(overlapped.out_dir)
    assert len(tree(serial.out_dir)) == 9
    assert without_times(serial.doc) == without_times(overlapped.doc)
    assert (serial.out_dir / "cracks.csv").read_bytes() == (
        overlapped.out_dir / "cracks.csv"
    ).read_bytes()

    for overlap in (False, True):
        run_predict(
            collect_inputs(photos)[0],
            predictor,
            PredictOptions(tmp_path / f"pred-{overlap}", save_prob=True, overlap=overlap),
        )
    assert tree(tmp_path / "pred-False") == tree(tmp_path / "pred-True")
    strip = [
        {k: v for k, v in r.items() if k != "seconds"} for r in summary_rows(tmp_path / "pred-True")
    ]
    assert strip == [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in summary_rows(tmp_path / "pred-False")
    ]


def test_cancel_while_overlapping_keeps_only_complete_files(
    crackforest, tiny_model_path, tmp_path
) -> None:
    predictor = Predictor(tiny_model_path)
    seen = []

    def cancel() -> bool:
        return any(p.path and p.path.stem == "097" for p in seen)

    result = run_export(
        [crackforest / "images" / f"{s}.jpg" for s in STEMS],
        predictor,
        ExportOptions(tmp_path / "out", formats=("json",), masks=True, overlap=True),
        progress=seen.append,
        cancel=cancel,
    )
    assert result.cancelled and result.exit_code() == 130 and result.doc is None
    files = assert_only_complete_files(result.out_dir)
    assert sorted(files) == sorted(result.written)
    assert {r.key for r in result.records} <= {"001", "081"}
    assert "masks/001.png" in {p.relative_to(result.out_dir).as_posix() for p in files}
    assert not (result.out_dir / "report.json").exists()
    assert not (result.out_dir / LOCK_NAME).exists()


# ---------------------------------------------------------------- the output folder lock
HOLDER = """
import sys, time
from pathlib import Path
from crackinspector.core.pipeline.outputs import FolderLock
lock = FolderLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def lock_holder(tmp_path) -> Iterator[tuple[Path, subprocess.Popen]]:
    """A real second process holding the lock of tmp_path/out."""
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield out, proc
    proc.kill()
    proc.wait()


def test_a_second_run_into_a_locked_folder_is_refused(
    lock_holder, crackforest, tiny_model_path, tmp_path, capsys
) -> None:
    out, holder = lock_holder
    photos = copy_photos(crackforest, tmp_path / "photos", STEMS[:1])
    rc = main(["predict", str(photos), "--out", str(out), "--model", str(tiny_model_path), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1] == (
        f"crackinspector: error: {out}: in use by PID {holder.pid} (another crackinspector run "
        "writes there); wait for it to finish or choose another output folder"
    )
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing written
    rc = main(["export", str(photos), "--out", str(out), "-q",
               "--from-masks", str(crackforest / "masks")])  # fmt: skip
    assert rc == 1 and f"in use by PID {holder.pid}" in capsys.readouterr().err
    with pytest.raises(FolderInUse):
        FolderLock(out).acquire()

    # kill -9 leaves the lock file behind, but the kernel dropped the lock with the process
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (out / LOCK_NAME).exists()
    rc = main(["predict", str(photos), "--out", str(out), "--model", str(tiny_model_path), "-q"])
    assert rc == 0
    assert [r["status"] for r in summary_rows(out)] == ["ok"]
    assert not (out / LOCK_NAME).exists()  # removed when the run ended


def test_two_real_predict_processes_into_one_folder(crackforest, tiny_model_path, tmp_path):
    """Two real `crackinspector predict` runs started together: one writes, the other is
    refused naming the first's PID; summary.csv is the complete one of the first."""
    stems = [f"{n:03d}" for n in range(1, 25)]
    photos = copy_photos(crackforest, tmp_path / "photos", stems)
    out = tmp_path / "out"
    cmd = [str(Path(sys.executable).parent / "crackinspector"), "predict", str(photos),
           "--out", str(out), "--model", str(tiny_model_path), "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    while not (out / LOCK_NAME).exists() and first.poll() is None:
        time.sleep(0.05)
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    _, first_err = first.communicate(timeout=300)
    codes = (first.returncode, second.returncode)
    if codes == (0, 0):
        pytest.fail("both runs wrote into the same folder")
    assert codes == (0, 1), first_err + second.stderr
    assert f"in use by PID {first.pid}" in second.stderr
    assert [r["status"] for r in summary_rows(out)] == ["ok"] * len(stems)


# ---------------------------------------------------------------- write failures (predict)
@pytest.fixture
def tmpfs(tmp_path) -> Iterator[callable]:
    mounts: list[Path] = []

    def mount(name: str, options: str) -> Path:
        where = tmp_path / name
        where.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
        mounts.append(where)
        return where

    yield mount
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_predict_into_a_read_only_file_system(
    tmpfs, crackforest, tiny_model_path, tmp_path, capsys
):
    ro = tmpfs("ro", "ro,size=1m")
    photos = copy_photos(crackforest, tmp_path / "photos", STEMS[:1])
    for out in (ro, ro / "new-folder", Path("/proc/sys/kernel")):
        rc = main(["predict", str(photos), "--out", str(out), "--model", str(tiny_model_path)])
        err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert rc == 1
        assert len(err) == 1 and err[0].startswith(f"crackinspector: error: {out}: "), err
    assert list(ro.iterdir()) == []


def test_predict_on_a_full_disk_stops_with_one_line(
    tmpfs, crackforest, tiny_model_path, tmp_path, capsys
) -> None:
    """A real full file system: the run stops at the first failed write, says which file
    and why, leaves no partial files and no masks for a photo it could not finish."""
    full = tmpfs("full", "size=160k")
    photos = copy_photos(crackforest, tmp_path / "photos", ("001", "081", "097", "104", "110"))
    rc = main(["predict", str(photos), "--out", str(full), "--model", str(tiny_model_path),
               "--threshold", "0.5", "--save-prob", "-q"])  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if "error:" in line]
    assert rc == 1
    assert len(errors) == 1 and "no space left on device" in errors[0], err
    assert not [p for p in full.iterdir() if p.name.startswith(".")]  # no temporaries, no lock
    rows = summary_rows(full)
    assert len(rows) < 5  # stopped: not every photo was analysed
    assert all(r["status"] == "ok" for r in rows)
    listed = {r["mask"] for r in rows}
    masks = {p.name for p in full.glob("*_mask.png")}
    assert masks == listed  # every mask on disk is a finished row's, and the other way round
    assert_only_complete_files(full)


def test_predict_on_a_disk_full_from_the_start(
    tmpfs, crackforest, tiny_model_path, tmp_path, capsys
):
    full = tmpfs("full0", "size=8k")
    (full / "filler").write_bytes(b"x" * 8192)  # the probe (an empty file) still succeeds
    photos = copy_photos(crackforest, tmp_path / "photos", STEMS[:1])
    rc = main(["predict", str(photos), "--out", str(full), "--model", str(tiny_model_path), "-q"])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert rc == 1 and len(err) == 1, err
    assert err[0] == f"crackinspector: error: {full}: cannot write here: no space left on device"
    assert sorted(p.name for p in full.iterdir()) == ["filler"]


def _limit_file_size() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG


def test_predict_write_failure_by_file_size_limit(crackforest, tiny_model_path, tmp_path):
    photos = copy_photos(crackforest, tmp_path / "photos")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "crackinspector", "predict", str(photos), "--out", str(out),
           "--model", str(tiny_model_path), "--backend", "torch", "--save-prob", "-q"]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=_limit_file_size, cwd=REPO, timeout=300
    )
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "file too large" in errors[0]
    assert errors[0].startswith(f"crackinspector: error: {out / '001_'}")
    assert "Traceback" not in proc.stderr
    assert not [p for p in out.iterdir() if ".part" in p.name or p.name == LOCK_NAME]
    assert not [p for p in out.iterdir() if p.suffix in (".png", ".jpg")]  # none of 001's
    assert summary_rows(out) == []


# ---------------------------------------------------------------- symbolic link loops
def test_symlink_loops_are_reported_by_name_and_the_batch_goes_on(
    crackforest, tmp_path, capsys
) -> None:
    photos = copy_photos(crackforest, tmp_path / "photos", STEMS[:2])
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    (photos / "a").symlink_to(photos / "b")
    (photos / "b").symlink_to(photos / "a")
    direct = tmp_path / "direct.jpg"
    direct.symlink_to(direct)
    masks = ["--from-masks", str(crackforest / "masks")]
    rc = main(["export", str(direct), str(photos), "--out", str(tmp_path / "out"), "-q", *masks])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    for bad in (direct, photos / "loop.jpg", photos / "a", photos / "b"):
        assert f"crackinspector: {bad}: symbolic link loop" in err
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    statuses = {i["path"]: i["status"] for i in doc["images"]}
    assert statuses[str(direct)] == "failed"
    assert [i["file"] for i in doc["images"] if i["status"] == "ok"] == ["001.jpg", "081.jpg"]


def test_symlink_loop_given_to_predict(crackforest, tiny_model_path, tmp_path, capsys):
    photos = copy_photos(crackforest, tmp_path / "photos", STEMS[:1])
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    out = tmp_path / "out"
    rc = main(["predict", str(loop), str(photos), "--out", str(out),
               "--model", str(tiny_model_path), "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and f"crackinspector: {loop}: symbolic link loop" in err
    assert [r["status"] for r in summary_rows(out)] == ["error: symbolic link loop", "ok"]


# ---------------------------------------------------------------- shards and merge
def test_shards_split_the_list_deterministically(tmp_path) -> None:
    for name in ("b.jpg", "a.jpg", "c.png", "sub/a.jpg", "d.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    photos, _ = collect_inputs([tmp_path])
    parts = [Shard(i, 2).select(photos) for i in (1, 2)]
    assert [p.key for p in parts[0]] == ["a", "c", "a-2"]
    assert [p.key for p in parts[1]] == ["b", "d"]
    assert sorted(p.index for part in parts for p in part) == list(range(5))
    assert [p.key for p in Shard(3, 3).select(photos)] == ["c"]
    for bad in ("0/2", "3/2", "1", "a/b"):
        with pytest.raises(CrackInspectorError, match="--shard"):
            Shard.parse(bad)


def test_export_shards_merge_into_the_unsharded_report(crackforest, tmp_path, capsys) -> None:
    photos = copy_photos(crackforest, tmp_path / "photos", ("001", "081", "097", "104"))
    shutil.copy(crackforest / "images" / "001.jpg", photos / "001.png")  # a repeated stem
    masks = tmp_path / "masks"
    shutil.copytree(crackforest / "masks", masks)
    common = [str(photos), "--from-masks", str(masks), "-q", "--masks", "--mm-per-px", "0.2"]
    assert main(["export", *common, "--out", str(tmp_path / "whole")]) == 0
    for i in (1, 2, 3):
        assert (
            main(["export", *common, "--out", str(tmp_path / f"part{i}"), "--shard", f"{i}/3"]) == 0
        )
    capsys.readouterr()
    parts = [str(tmp_path / f"part{i}") for i in (1, 2, 3)]
    assert main(["merge", *parts, "--out", str(tmp_path / "merged")]) == 0
    assert "5 photo(s) of 3 export shard(s) merged" in capsys.readouterr().out
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    merged = json.loads((tmp_path / "merged" / "report.json").read_text())
    for doc in (whole, merged):
        doc.pop("created")
        for img in doc["images"]:
            img.pop("seconds")
            img["files"].pop("overlay", None)  # shards keep overlays for the merged PDF
    assert merged == whole
    assert [i["key"] for i in merged["images"]] == ["001", "001-2", "081", "097", "104"]
    whole_csv = (tmp_path / "whole" / "cracks.csv").read_text()
    assert (tmp_path / "merged" / "cracks.csv").read_text() == whole_csv
    assert tree(tmp_path / "whole" / "masks") == tree(tmp_path / "merged" / "masks")
    import pypdf

    pages = pypdf.PdfReader(tmp_path / "merged" / "report.pdf").pages
    assert sum(len(p.images) for p in pages) == 5  # every photo's overlay figure
    # shards of different runs are refused, naming the folder
    assert main(["export", *common, "--out", str(tmp_path / "other"), "--threshold", "0.9",
                 "--shard", "2/3"]) == 0  # fmt: skip
    rc = main(["merge", parts[0], str(tmp_path / "other"), "--out", str(tmp_path / "m2")])
    assert rc == 1 and f"{tmp_path / 'other'}: made with other settings" in capsys.readouterr().err
    rc = main(["merge", parts[0], parts[0], "--out", str(tmp_path / "m3")])
    assert rc == 1 and "more than one" in capsys.readouterr().err


def test_predict_shards_merge(crackforest, tiny_model_path, tmp_path, capsys) -> None:
    photos = copy_photos(crackforest, tmp_path / "photos")
    base = ["predict", str(photos), "--model", str(tiny_model_path), "-q"]
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    assert main([*base, "--out", str(tmp_path / "p1"), "--shard", "1/2"]) == 0
    assert main([*base, "--out", str(tmp_path / "p2"), "--shard", "2/2"]) == 0
    assert [r["file"] for r in summary_rows(tmp_path / "p2")] == [str(photos / "081.jpg")]
    rc = main(["merge", str(tmp_path / "p1"), str(tmp_path / "p2"), "--out", str(tmp_path / "m")])
    assert rc == 0

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(summary_rows(tmp_path / "m")) == strip(summary_rows(tmp_path / "whole"))
    assert tree(tmp_path / "m") == tree(tmp_path / "whole")
