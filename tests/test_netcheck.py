from crawler.netcheck import main
from tests.helpers import free_port_closed


def test_unreachable_host_fails_fast_with_one_line_suggesting_demo(capsys):
    port = free_port_closed()
    assert main(["netcheck", f"http://127.0.0.1:{port}/"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot reach 127.0.0.1" in err[0] and "make demo" in err[0]
