"""web/js/zip.js builds archives that standard tools read: checked with Python's zipfile."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"

BUILD = """
import { crc32, crc32OfBlob, zipParts } from './js/zip.js';
import { readFileSync, writeFileSync } from 'node:fs';
const files = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const entries = [];
for (const f of files) {
  const data = new Blob([Buffer.from(f.b64, 'base64')]);
  const crc = await crc32OfBlob(data, () => {}, 4093);
  entries.push({ path: f.path, data, mtime: f.mtime, crc });
}
const parts = zipParts(entries, { forceZip64: process.argv[4] === 'zip64' });
writeFileSync(process.argv[3], Buffer.from(await new Blob(parts).arrayBuffer()));
console.log(crc32(new TextEncoder().encode('123456789')).toString(16));
"""


@pytest.mark.parametrize("mode", ["plain", "zip64"])
def test_archive_opens_with_zipfile(tmp_path: Path, mode: str) -> None:
    import base64
    import json

    node = shutil.which("node")
    assert node
    files = {
        "album/2024/notes.md": b"# notes\n" * 100,
        "empty.txt": b"",
        "Grüße 日本.txt": "ünïcode".encode(),
        "big.bin": bytes(range(256)) * 1000,
    }
    spec = [
        {"path": p, "b64": base64.b64encode(d).decode(), "mtime": 1_700_000_000_000}
        for p, d in files.items()
    ]
    out = tmp_path / "out.zip"
    script = tmp_path / "build.mjs"
    script.write_text(BUILD.replace("./js/zip.js", (WEB / "js" / "zip.js").as_uri()))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    result = subprocess.run(
        [node, str(script), str(spec_file), str(out), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{zlib.crc32(b'123456789'):x}"  # the standard check value
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None  # every CRC matches
        assert sorted(archive.namelist()) == sorted(files)
        for name, data in files.items():
            assert archive.read(name) == data
            info = archive.getinfo(name)
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time[0] == 2023
