import gzip
from ipaddress import ip_address

from scrapy import Request
from scrapy.http import Headers, HtmlResponse
from warcio.archiveiterator import ArchiveIterator

from archiving.storage import LocalStorage
from archiving.warcfile import WarcFile
from pipelines.warc import request_headers, response_headers

URL = "https://www.vietnamplus.vn/tim-kiem.vnp?q=Gunma&page=2"
BODY = "<html><body><p>Quan hệ hợp tác địa phương</p></body></html>".encode()


def exchange(tmp_path):
    storage = LocalStorage(tmp_path)
    warc = WarcFile(storage, "warc/t/t.warc.gz", {"software": "test", "isPartOf": "crawl-1"})
    headers = Headers()
    headers.appendlist("Content-Type", "text/html; charset=utf-8")
    headers.appendlist("Content-Encoding", "gzip")
    headers.appendlist("Transfer-Encoding", "chunked")
    headers.appendlist("Set-Cookie", "a=1; Path=/")
    headers.appendlist("Set-Cookie", "b=2; Path=/")
    compressed = gzip.compress(BODY)
    request = Request(URL, headers={"User-Agent": "news-archiver-test", "Accept-Encoding": "gzip, br"})
    response = HtmlResponse(URL, status=200, headers=headers, body=compressed, request=request,
                            ip_address=ip_address("203.0.113.7"), protocol="HTTP/1.1")
    record_id = warc.write_exchange(URL, request_headers(request), request.body, response_headers(response), response.body,
                                    "2025-11-25T08:00:00.123456Z", str(response.ip_address))
    warc.close()
    with open(tmp_path / "warc/t/t.warc.gz", "rb") as f:
        records = list((r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(f))
    return record_id, compressed, records


def test_file_is_renamed_when_closed_and_starts_with_warcinfo(tmp_path):
    _, _, records = exchange(tmp_path)
    assert (tmp_path / "warc/t/t.warc.gz").exists() and not (tmp_path / "warc/t/t.warc.gz.open").exists()
    assert [r[0] for r in records] == ["warcinfo", "response", "request"]
    assert records[0][1].get_header("WARC-Type") == "warcinfo"


def test_response_is_stored_as_received_dechunked_with_a_true_length(tmp_path):
    _, compressed, records = exchange(tmp_path)
    _, warc_headers, http, payload = records[1]
    assert http.get_header("Content-Encoding") == "gzip"
    assert http.get_header("Transfer-Encoding") is None
    assert http.get_header("Content-Length") == str(len(compressed))
    assert payload == BODY  # warcio decodes gzip for readers: the stored bytes are the gzip stream
    assert http.statusline == "200 OK" and http.protocol == "HTTP/1.1"


def test_repeated_headers_all_kept(tmp_path):
    _, _, records = exchange(tmp_path)
    cookies = [v for k, v in records[1][2].headers if k.lower() == "set-cookie"]
    assert cookies == ["a=1; Path=/", "b=2; Path=/"]


def test_record_headers_name_ip_digests_and_version(tmp_path):
    record_id, _, records = exchange(tmp_path)
    headers = records[1][1]
    assert headers.protocol == "WARC/1.1"
    assert headers.get_header("WARC-Record-ID") == record_id
    assert headers.get_header("WARC-IP-Address") == "203.0.113.7"
    assert headers.get_header("WARC-Payload-Digest").startswith("sha1:")
    assert headers.get_header("WARC-Block-Digest").startswith("sha1:")
    assert headers.get_header("WARC-Target-URI") == URL


def test_request_record_keeps_the_query_and_points_at_its_response(tmp_path):
    record_id, _, records = exchange(tmp_path)
    _, headers, http, _ = records[2]
    assert f"{http.protocol} {http.statusline}" == "GET /tim-kiem.vnp?q=Gunma&page=2 HTTP/1.1"
    assert http.get_header("Host") == "www.vietnamplus.vn"
    assert http.get_header("User-Agent") == "news-archiver-test"
    assert headers.get_header("WARC-Concurrent-To") == record_id
