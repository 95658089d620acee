"""The archive itself: storage backends, the layout of files, WARC writing, CDXJ and WACZ.

This package knows nothing of spiders or extraction: it imports neither ``crawler`` nor
``pipelines``, which build on it.
"""
