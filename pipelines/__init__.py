"""Item pipelines and archive writers: extraction, text store, WARC capture, storage."""
