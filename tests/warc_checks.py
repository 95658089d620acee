"""The acceptance checks of a WARC folder, run by the suite itself.

The same checks as the project's external validator: per file (gzip members whole,
one record per member, ``warcio check``), per record (lengths, encodings, digests),
the CDXJ index (cdxj-indexer) and a real pywb replay of every expected URL,
byte-identical, with and without ``Accept-Encoding: gzip``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from warcio.archiveiterator import ArchiveIterator

BIN = Path(sys.executable).parent
# pywb lives in a virtualenv of its own (requirements-pywb.in: its redis pin clashes with scrapy-redis).
PYWB_BIN = Path(os.environ.get("PYWB_BIN") or Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin")


@dataclass
class Capture:
    url: str
    status: str
    timestamp: str
    payload_sha256: str
    payload_digest: str = ""
    kind: str = "response"
    record_id: str = ""
    refers_to: str = ""  # a server-not-modified revisit: the record id of the response it confirms


@dataclass
class Report:
    files: int = 0
    records: int = 0
    replayed: int = 0
    captures: list[Capture] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    record_types: dict[str, int] = field(default_factory=dict)


def gzip_member_count(path: Path) -> int:
    """Members in a multi-member gzip file; ValueError if one is incomplete."""
    members, data = 0, path.read_bytes()
    while data:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            decompressor.decompress(data)
        except zlib.error as exc:
            raise ValueError(f"gzip member {members + 1}: {exc}") from exc
        if not decompressor.eof:
            raise ValueError(f"gzip member {members + 1} is truncated")
        members += 1
        data = decompressor.unused_data
    return members


def decode_content(body: bytes, encoding: str) -> bytes:
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif coding == "br":
            body = brotli.decompress(body)
        elif coding == "deflate":
            body = zlib.decompress(body)
        elif coding != "identity":
            raise ValueError(f"unsupported Content-Encoding {coding}")
    return body


def check_file(path: Path, report: Report) -> None:
    report.files += 1
    try:
        members = gzip_member_count(path)
    except ValueError as exc:
        report.failures.append(f"{path.name}: {exc}")
        return
    result = subprocess.run([BIN / "warcio", "check", "-v", str(path)], capture_output=True, text=True)
    # "not checked" alone means a record shorter than its length; "(revisit)" is expected.
    truncated = [line for line in result.stdout.splitlines() if line.rstrip().endswith("digest present but not checked")]
    if result.returncode != 0 or truncated:
        report.failures.append(f"{path.name}: warcio check: {result.stdout[-300:]} {result.stderr[-300:]}")
    records = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, no_record_parse=True):
            records += 1
            block = record.raw_stream.read()
            check_record(path, record, block, report)
    report.records += records
    if members != records:
        report.failures.append(f"{path.name}: {members} gzip members for {records} records")


def check_record(path: Path, record, block: bytes, report: Report) -> None:  # type: ignore[no-untyped-def]
    headers = record.rec_headers
    kind = record.rec_type
    report.record_types[kind] = report.record_types.get(kind, 0) + 1
    url = headers.get_header("WARC-Target-URI")
    where = f"{path.name} {kind} {url}"
    if int(headers.get_header("Content-Length")) != len(block):
        report.failures.append(f"{where}: block {len(block)} bytes, Content-Length {headers.get_header('Content-Length')}")
    if kind not in ("response", "revisit"):
        return
    digits = "".join(c for c in headers.get_header("WARC-Date") if c.isdigit())[:14]
    if (headers.get_header("WARC-Profile") or "").endswith("/revisit/server-not-modified"):
        # A 304 confirming an earlier capture: no payload of its own; it replays as that capture.
        if not headers.get_header("WARC-Refers-To") or not headers.get_header("WARC-Refers-To-Date"):
            report.failures.append(f"{where}: server-not-modified revisit without WARC-Refers-To and -Date")
        report.captures.append(Capture(url, "200", digits, "", "", kind, refers_to=headers.get_header("WARC-Refers-To") or ""))
        return
    if not headers.get_header("WARC-Payload-Digest") or not headers.get_header("WARC-Block-Digest"):
        report.failures.append(f"{where}: digest missing")
    head, _, payload = block.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("iso-8859-1").split("\r\n")
    if kind == "revisit":
        # Its body is the original's: resolved by payload digest once every file is read.
        report.captures.append(Capture(url, status_line.split(" ")[1], digits, "", headers.get_header("WARC-Payload-Digest"), kind))
        return
    http = {}
    for line in lines:
        name, _, value = line.partition(":")
        http.setdefault(name.strip().lower(), []).append(value.strip())
    if "transfer-encoding" in http:
        report.failures.append(f"{where}: stored with Transfer-Encoding {http['transfer-encoding']}")
    length = http.get("content-length", [None])[0]
    if length is None or int(length) != len(payload):
        report.failures.append(f"{where}: HTTP Content-Length {length} != stored payload {len(payload)}")
    try:
        decoded = decode_content(payload, ",".join(http.get("content-encoding", [])))
    except Exception as exc:  # noqa: BLE001 - any decoding error is a failed check
        report.failures.append(f"{where}: Content-Encoding does not match the bytes: {exc}")
        decoded = payload
    report.captures.append(Capture(
        url, status_line.split(" ")[1], digits, hashlib.sha256(decoded).hexdigest(), headers.get_header("WARC-Payload-Digest"),
        record_id=headers.get_header("WARC-Record-ID"),
    ))


def resolve_revisits(report: Report) -> None:
    originals = {c.payload_digest: c.payload_sha256 for c in report.captures if c.kind == "response"}
    by_id = {c.record_id: c for c in report.captures if c.kind == "response"}
    for capture in report.captures:
        if capture.kind == "revisit" and capture.refers_to:
            confirmed = by_id.get(capture.refers_to)
            if confirmed is None or confirmed.url != capture.url:
                report.failures.append(f"revisit {capture.url}: refers to {capture.refers_to}, no response of that URL")
            capture.payload_sha256 = confirmed.payload_sha256 if confirmed else ""
        elif capture.kind == "revisit":
            if capture.payload_digest not in originals:
                report.failures.append(f"revisit {capture.url}: no response with payload digest {capture.payload_digest}")
            capture.payload_sha256 = originals.get(capture.payload_digest, "")


def check_index(files: list[Path], expected: list[str], report: Report) -> list[dict]:
    out = io.StringIO()
    from cdxj_indexer.main import write_cdx_index

    write_cdx_index(out, [str(p) for p in files], {"sort": True})
    lines = [json.loads(line.split(" ", 2)[2]) for line in out.getvalue().splitlines() if line]
    for url in expected:
        if not any(entry.get("url") == url and entry.get("status") == "200" for entry in lines):
            report.failures.append(f"cdxj: no status-200 capture of {url}")
    return lines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_replay(files: list[Path], expected: list[str], workdir: Path, report: Report) -> None:
    """pywb replays every 200 capture of each expected URL byte-identical, plain and gzip."""
    subprocess.run([PYWB_BIN / "wb-manager", "init", "check"], cwd=workdir, check=True, capture_output=True)
    added = subprocess.run([PYWB_BIN / "wb-manager", "add", "check", *map(str, files)], cwd=workdir, capture_output=True, text=True)
    if added.returncode != 0 or "Traceback" in added.stderr + added.stdout:
        report.failures.append(f"wb-manager add failed: {added.stderr[-400:]}")
        return
    port = free_port()
    log = (workdir / "wayback.log").open("wb")
    server = subprocess.Popen([PYWB_BIN / "wayback", "-b", "127.0.0.1", "-p", str(port)], cwd=workdir, stdout=log, stderr=log)
    try:
        _wait_for(port, server)
        for url in expected:
            captures = [c for c in report.captures if c.url == url and c.status == "200"]
            ok = bool(captures)
            if not captures:
                report.failures.append(f"replay {url}: no 200 capture")
            for capture in captures:
                for compressed in (False, True):
                    problem = _fetch_and_compare(port, capture, capture.timestamp, compressed)
                    if problem:
                        ok = False
                        report.failures.append(problem)
            # At a timestamp matching no capture, pywb serves the nearest: it must be the page.
            latest = max(captures, key=lambda c: c.timestamp, default=None)
            if latest and (problem := _fetch_and_compare(port, latest, "2099", False)):
                ok = False
                report.failures.append(problem)
            report.replayed += ok
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _wait_for(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"wayback exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError("wayback did not start in 60 s")


def _fetch_and_compare(port: int, capture: Capture, timestamp: str, compressed: bool) -> str | None:
    what = f"replay {capture.url} @{timestamp} ({'gzip' if compressed else 'plain'})"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/check/{timestamp}id_/{capture.url}")
    if compressed:
        request.add_header("Accept-Encoding", "gzip")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            body = decode_content(body, response.headers.get("Content-Encoding", ""))
            served = response.headers.get("Content-Location", "")
    except urllib.error.HTTPError as exc:
        return f"{what}: HTTP {exc.code} from pywb"
    if served and capture.timestamp not in served and timestamp == capture.timestamp:
        return f"{what}: pywb served {served}"
    if hashlib.sha256(body).hexdigest() != capture.payload_sha256:
        return f"{what}: body ({len(body)} bytes) differs from the record payload"
    return None


def validate_warcs(warc_dir: Path, expected: list[str], workdir: Path) -> Report:
    report = Report()
    files = sorted(warc_dir.rglob("*.warc.gz"))
    if not files:
        report.failures.append(f"no *.warc.gz in {warc_dir}")
        return report
    for path in files:
        check_file(path, report)
    resolve_revisits(report)
    check_index(files, expected, report)
    if shutil.which("wayback", path=str(PYWB_BIN)):
        check_replay(files, expected, workdir, report)
    else:
        report.failures.append(f"pywb (wayback) is not installed in {PYWB_BIN}: make test builds it (requirements-pywb.lock)")
    return report
