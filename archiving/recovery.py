"""What a crash leaves behind, put right when the next crawl starts (and by ``scrapy archive-sync``).

- WARCs left partial: every complete record kept, a torn tail cut, the file completed and
  indexed; a file with no complete record is removed.
- Items feeds left partial: a torn last line cut, the feed completed.
- Files a remote backend could not upload: uploaded (``ArchiveStorage.sync``).
- Closed WARCs without their CDXJ (a crash between the two): indexed.
- Temporary files of atomic writes that a crash interrupted: removed (the file they were to
  replace is still whole, old or new); other partial files (a ``.wacz`` being written): removed.

Only partial files that no live process holds are touched (``ArchiveStorage.stale_partials``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from archiving.cdxj import index_missing
from archiving.layout import ITEMS_DIR, PARTIAL_SUFFIX, WARC_DIR
from archiving.repair import repair, truncate_torn_line
from archiving.storage import ArchiveError, ArchiveStorage, SyncReport, reason
from archiving.warcfile import close_warc

logger = logging.getLogger(__name__)


@dataclass
class Recovery:
    warcs_repaired: int = 0
    warcs_removed: int = 0
    bytes_cut: int = 0
    feeds_repaired: int = 0
    indexes_written: int = 0
    temporaries_removed: int = 0
    partials_removed: int = 0
    failures: int = 0
    sync: SyncReport = field(default_factory=SyncReport)

    def stats(self) -> dict[str, int]:
        """Non-zero counts, as crawl stats under ``archive/``."""
        values = {
            "archive/warcs_repaired": self.warcs_repaired, "archive/warcs_removed": self.warcs_removed,
            "archive/bytes_cut": self.bytes_cut, "archive/feeds_repaired": self.feeds_repaired,
            "archive/indexes_written": self.indexes_written, "archive/recovery_failures": self.failures,
            "archive/temporaries_removed": self.temporaries_removed, "archive/partials_removed": self.partials_removed,
            "archive/sync_uploaded": self.sync.uploaded, "archive/sync_failed": self.sync.failed,
            "archive/sync_bytes": self.sync.bytes, "archive/multipart_aborted": self.sync.aborted_uploads,
        }
        return {name: value for name, value in values.items() if value}


def recover(storage: ArchiveStorage) -> Recovery:
    """Repair, complete, upload and index what earlier crawls left; errors are logged and counted."""
    done = Recovery()
    done.temporaries_removed = storage.remove_stale_temporaries()
    for path, file in storage.stale_partials(WARC_DIR + "/"):
        try:
            scan = repair(file)
            done.warcs_repaired += 1
            done.bytes_cut += scan.total_bytes - scan.good_bytes
            if scan.records == 0:
                storage.discard_partial(path, file)
                done.warcs_removed += 1
                logger.warning("Removed %s%s left by a crash: no complete record in its %d bytes",
                               storage.describe(path), PARTIAL_SUFFIX, scan.total_bytes)
                continue
            close_warc(storage, path, file)
            logger.warning("Repaired %s left by a crash: kept %d complete records, cut %d bytes of a torn record",
                           storage.describe(path), scan.records, scan.total_bytes - scan.good_bytes)
        except (ArchiveError, OSError, ValueError) as exc:
            file.close()
            done.failures += 1
            logger.error("Could not repair %s%s: %s", storage.describe(path), PARTIAL_SUFFIX, reason(exc))
    for path, file in storage.stale_partials(ITEMS_DIR + "/"):
        try:
            cut = truncate_torn_line(file)
            storage.complete(path, file)
            done.feeds_repaired += 1
            done.bytes_cut += cut
            logger.warning("Completed the items feed %s left by a crash (cut %d bytes of a torn line)", storage.describe(path), cut)
        except (ArchiveError, OSError) as exc:
            file.close()
            done.failures += 1
            logger.error("Could not complete %s%s: %s", storage.describe(path), PARTIAL_SUFFIX, reason(exc))
    for path, file in storage.stale_partials(""):
        # Anything else a crash left partial (a .wacz being written): it cannot be completed.
        storage.discard_partial(path, file)
        done.partials_removed += 1
        logger.warning("Removed %s%s, left incomplete by a crash", storage.describe(path), PARTIAL_SUFFIX)
    done.sync = storage.sync()
    try:
        done.indexes_written = index_missing(storage)
    except (ArchiveError, OSError, ValueError) as exc:
        done.failures += 1
        logger.error("Could not index the closed WARCs of %s: %s", storage.describe(), reason(exc))
    return done
