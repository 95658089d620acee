"""``scrapy browse [-p PORT]``: serve the archive at ``ARCHIVE_URI`` on 127.0.0.1 (crawler.browse).

pywb replays the pages from the archive's own WARCs and CDXJ indexes (a pywb config naming their
folders: nothing is copied; of an S3 archive, the small indexes are copied and the WARCs read in
the bucket by byte range). pywb runs from its own virtualenv (``.venv-pywb``, or ``PYWB_BIN``)
in a child process on another loopback port, behind this server's ``/replay/``. Ctrl-C or SIGTERM
stops the server and pywb within seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archiving.layout import INDEX_DIR, TEXT_DIR, WARC_DIR, is_cdxj
from archiving.storage import ArchiveError, ArchiveStorage, LocalStorage, open_archive
from crawler.outcome import EXIT_ARCHIVE, EXIT_USAGE

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8640
PYWB_START_TIMEOUT = 60


def pywb_bin() -> Path | None:
    """The folder of pywb's ``wayback``: ``PYWB_BIN``, else the checkout's ``.venv-pywb``, else the PATH."""
    candidates = [os.environ.get("PYWB_BIN"), Path(__file__).resolve().parents[2] / ".venv-pywb" / "bin"]
    for folder in filter(None, candidates):
        if (Path(folder) / "wayback").is_file():
            return Path(folder)
    found = shutil.which("wayback")
    return Path(found).parent if found else None


def pywb_config(index_dir: Path, archive_paths: list[str]) -> str:
    """A pywb config whose one collection, ``replay``, reads the archive's indexes and WARCs in place.

    The CDXJ lines name their WARC by file name; pywb looks for it in each spider's WARC folder
    (a local folder, or an ``s3://`` prefix it reads with boto3). YAML reads JSON strings: the paths
    are written as such, whatever characters they hold.
    """
    paths = "".join(f"      - {json.dumps(path)}\n" for path in archive_paths)
    return (f"collections:\n  replay:\n    index_paths: {json.dumps(str(index_dir) + '/')}\n"
            f"    archive_paths:\n{paths}framed_replay: false\n")


def replay_sources(storage: ArchiveStorage, work: Path) -> tuple[Path, list[str]]:
    """The folder of the archive's CDXJ indexes and its WARC folders, as pywb reads them.

    A local archive's are used where they are. An S3 archive's indexes (small) are copied to
    ``work``; its WARCs stay in the bucket, read by byte range.
    """
    spiders = sorted({entry.path.split("/")[1] for entry in storage.list(WARC_DIR + "/") if entry.path.count("/") >= 2})
    if isinstance(storage, LocalStorage):
        folders = [storage.root / WARC_DIR / spider for spider in spiders] or [storage.root / WARC_DIR]
        return storage.root / INDEX_DIR, [str(folder) + "/" for folder in folders]
    indexes = work / INDEX_DIR
    indexes.mkdir()
    for entry in storage.list(INDEX_DIR + "/"):
        if is_cdxj(entry.path) and (data := storage.read(entry.path)) is not None:
            (indexes / entry.path.rsplit("/", 1)[1]).write_bytes(data)
    bucket, key = storage.bucket, storage.key  # type: ignore[attr-defined] - the S3 backend's
    return indexes, [f"s3://{bucket}/{key(f'{WARC_DIR}/{spider}/')}" for spider in spiders]


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "[-p PORT]"

    def short_desc(self) -> str:
        return "Browse the archive (ARCHIVE_URI) on 127.0.0.1: articles, stories, versions, replayed pages"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            raise UsageError("scrapy browse takes no arguments: the archive is ARCHIVE_URI")
        try:
            storage = open_archive(self.settings)
        except ArchiveError as exc:
            logger.error("%s", exc)
            self.exitcode = EXIT_ARCHIVE
            return
        try:
            empty = not storage.list(TEXT_DIR + "/") and not storage.list(INDEX_DIR + "/")
        except ArchiveError as exc:
            logger.error("%s", exc)
            self.exitcode = EXIT_ARCHIVE
            return
        if empty:
            logger.error("No archive at %s (ARCHIVE_URI): crawl first, e.g. make demo", storage.describe())
            self.exitcode = EXIT_ARCHIVE
            return
        folder = pywb_bin()
        if folder is None:
            logger.error("pywb (wayback) not found: make browse builds .venv-pywb, or set PYWB_BIN")
            self.exitcode = EXIT_USAGE
            return
        self.exitcode = serve(storage, opts.port, folder)


def serve(storage: ArchiveStorage, port: int, pywb_folder: Path) -> int:
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.web.server import Site

    from crawler.browse import Browser

    with tempfile.TemporaryDirectory(prefix="news-archiver-browse-") as work:
        (Path(work) / "config.yaml").write_text(pywb_config(*replay_sources(storage, Path(work))))
        pywb_port = _free_port()
        log = (Path(work) / "pywb.log").open("wb")
        pywb = subprocess.Popen([str(pywb_folder / "wayback"), "-b", "127.0.0.1", "-p", str(pywb_port)], cwd=work,
                                stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_us(os.getpid()))
        try:
            try:
                reactor.listenTCP(port, Site(Browser(storage, pywb_port, port)), interface="127.0.0.1")
            except CannotListenError as exc:
                logger.error("Cannot listen on 127.0.0.1:%d: %s (choose another with -p PORT)", port, exc.socketError)
                return EXIT_USAGE
            print(f"Browsing {storage.describe()} at http://127.0.0.1:{port}/ (pywb replays it on port {pywb_port}); "
                  "Ctrl-C stops", flush=True)
            reactor.callLater(PYWB_START_TIMEOUT, _check_pywb, pywb, Path(work) / "pywb.log")
            reactor.run()
            return 0
        finally:
            _stop(pywb)
            log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_pywb(pywb: subprocess.Popen, log: Path) -> None:
    if pywb.poll() is not None:
        logger.error("pywb exited with status %s: %s", pywb.returncode, log.read_text(errors="replace")[-500:])


def _die_with_us(parent: int):  # noqa: ANN202 - a preexec_fn
    def preexec() -> None:
        from crawler.children import die_with_parent

        die_with_parent(parent)

    return preexec


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass

