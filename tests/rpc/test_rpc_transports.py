"""The TCP transport with a token, and hostile or broken requests on both transports."""

from __future__ import annotations

import gzip
import http.client
import os
import socket
import threading
import xmlrpc.client

import pytest

from mom.rpc.client import UnixXmlRpcClient, tcp_client
from mom.rpc.marshalling import dump_int_i8, enable_i8
from mom.rpc.server import UnixXmlRpcServer
from tests.helpers import wait_for

CALL = xmlrpc.client.dumps((), "ping").encode()


def post(port, body, path="/RPC2", headers=None, token=None):
    connection = http.client.HTTPConnection("localhost", port, timeout=5)
    all_headers = {"Content-Type": "text/xml", "Authorization": f"Bearer {token}"}
    all_headers.update(headers or {})
    connection.request("POST", path, body, all_headers)
    response = connection.getresponse()
    return response.status, response.read()


def test_tcp_with_token(tcp_momd):
    _, port, TOKEN = tcp_momd
    proxy = tcp_client(port, token=TOKEN, timeout=2)
    assert proxy.ping() is True
    assert proxy.setNamedPolicy("02-extra", "(+ 1 1)") is True
    assert "02-extra" in proxy.getNamedPolicies()
    assert proxy.setNamedPolicy("02-extra", None) is True  # a <nil/> in a request is read


def test_tcp_with_basic_auth(tcp_momd):
    _, port, TOKEN = tcp_momd
    proxy = xmlrpc.client.ServerProxy(f"http://mom:{TOKEN.replace(' ', '%20')}@localhost:{port}/RPC2")
    assert proxy.ping() is True


@pytest.mark.parametrize("token", [None, "wrong", "+x", ""])
def test_tcp_without_the_token_is_refused(tcp_momd, token):
    _, port, TOKEN = tcp_momd
    if token == "+x":
        token = TOKEN + "x"
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        tcp_client(port, token=token, timeout=2).ping()
    assert info.value.errcode == 401
    assert "Bearer" in info.value.headers["WWW-Authenticate"]


def test_tcp_serves_rpc2_only(tcp_momd):
    _, port, TOKEN = tcp_momd
    status, _ = post(port, CALL, path="/", token=TOKEN)
    assert status == 404
    status, body = post(port, CALL, token=TOKEN)
    assert status == 200 and b"<boolean>1</boolean>" in body


def test_tcp_does_not_allow_none(tcp_momd):
    _, port, TOKEN = tcp_momd
    proxy = tcp_client(port, token=TOKEN, timeout=2)
    # the guests' optional fields (GuestMemoryOptional...) hold None: upstream's TCP
    # server cannot send them (the UNIX socket can)
    wait_for(lambda: proxy.getActiveGuests())
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.getStatistics()
    assert info.value.faultCode == 1
    assert info.value.faultString == "<class 'TypeError'>:cannot marshal None unless allow_none is enabled"


def test_malformed_xml_gets_a_fault(tcp_momd):
    _, port, TOKEN = tcp_momd
    for body in (b"<methodCall><methodName>ping</methodName>", b"\x00\xff garbage", b"<?xml version='1.0'?><a>&x;</a>"):
        status, reply = post(port, body, token=TOKEN)
        assert status == 200
        fault = None
        try:
            xmlrpc.client.loads(reply)
        except xmlrpc.client.Fault as error:
            fault = error
        assert fault is not None and fault.faultCode == 1
    assert tcp_client(port, token=TOKEN, timeout=2).ping() is True  # still serving


def test_billion_laughs_is_refused(tcp_momd):
    _, port, TOKEN = tcp_momd
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">' % ((98 + i,) + (97 + i,) * 10) for i in range(9)
        )
        + b"]><methodCall><methodName>&j;</methodName></methodCall>"
    )
    status, reply = post(port, bomb, token=TOKEN)
    assert status == 200
    with pytest.raises(xmlrpc.client.Fault):
        xmlrpc.client.loads(reply)
    assert tcp_client(port, token=TOKEN, timeout=2).ping() is True


def test_oversized_requests_are_refused_unread(tcp_momd):
    _, port, TOKEN = tcp_momd
    status, body = post(port, b"x" * 70000, token=TOKEN)
    assert status == 413 and b"limit 65536" in body
    small = gzip.compress(xmlrpc.client.dumps(("a" * 200000,), "setPolicy").encode())
    assert len(small) < 65536
    status, _ = post(port, small, headers={"Content-Encoding": "gzip"}, token=TOKEN)
    assert status == 413  # the limit applies after decompression too
    assert tcp_client(port, token=TOKEN, timeout=2).ping() is True


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b"")[:-3],  # truncated: EOFError inside gzip (fuzz finding: it was a 500)
        b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"\xff\xff",  # bad deflate data
        b"not gzip at all",
    ],
)
def test_a_broken_gzip_body_is_a_400(tcp_momd, body):
    _, port, TOKEN = tcp_momd
    status, reply = post(port, body, headers={"Content-Encoding": "gzip"}, token=TOKEN)
    assert status == 400 and reply.startswith(b"Bad gzip body: "), (status, reply)
    assert tcp_client(port, token=TOKEN, timeout=2).ping() is True


def test_missing_content_length(tcp_momd):
    _, port, TOKEN = tcp_momd
    with socket.create_connection(("localhost", port), timeout=5) as sock:
        sock.sendall(b"POST /RPC2 HTTP/1.0\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.0 411")


def test_a_stalled_client_does_not_starve_others(tcp_momd):
    _, port, TOKEN = tcp_momd
    stalled = socket.create_connection(("localhost", port), timeout=5)
    stalled.sendall(b"POST /RPC2 HTTP/1.0\r\nContent-Length: 100\r\n")  # and then nothing
    try:
        # the server gives the stalled client rpc-request-timeout (1 s): vdsm's 2 s still suffice
        assert tcp_client(port, token=TOKEN, timeout=4).ping() is True
    finally:
        stalled.close()


def test_unauthenticated_tcp_is_the_only_refusal_on_the_socket(unix_momd):
    _, sock = unix_momd
    # the UNIX socket is protected by its mode: no token needed
    assert UnixXmlRpcClient(sock, 2).ping() is True


def test_malformed_and_oversized_on_the_socket(unix_momd):
    _, sock = unix_momd
    raw = socket.socket(socket.AF_UNIX)
    raw.settimeout(5)
    raw.connect(sock)
    raw.sendall(b"POST /RPC2 HTTP/1.0\r\nContent-Length: 5\r\n\r\n<<<<<")
    reply = b""
    while chunk := raw.recv(4096):
        reply += chunk
    raw.close()
    assert reply.startswith(b"HTTP/1.0 200")
    assert b"<name>faultCode</name>" in reply
    raw = socket.socket(socket.AF_UNIX)
    raw.settimeout(5)
    raw.connect(sock)
    raw.sendall(b"POST /RPC2 HTTP/1.0\r\nContent-Length: 99999999\r\n\r\n")
    assert raw.recv(100).startswith(b"HTTP/1.0 413")
    raw.close()
    assert UnixXmlRpcClient(sock, 2).ping() is True


# ## i8 and socket modes, in-process


class Big:
    def big(self):
        return 2**40

    def small(self):
        return 7

    def flag(self):
        return True


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def i8_enabled():
    saved = xmlrpc.client.Marshaller.dispatch[int]
    enable_i8()
    yield
    xmlrpc.client.Marshaller.dispatch[int] = saved


def test_without_i8_big_ints_overflow(tmp_path):
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path)
    server.register_instance(Big())
    serve(server)
    try:
        with pytest.raises(xmlrpc.client.Fault) as info:
            UnixXmlRpcClient(path, 2).big()
        assert info.value.faultString == "<class 'OverflowError'>:int exceeds XML-RPC limits"
    finally:
        server.shutdown()
        server.server_close()


def test_enable_i8(tmp_path, i8_enabled):
    assert xmlrpc.client.Marshaller.dispatch[int] is dump_int_i8
    assert "<i8>1099511627776</i8>" in xmlrpc.client.dumps((2**40,))
    assert "<int>-2147483647</int>" in xmlrpc.client.dumps((-(2**31) + 1,))
    assert "<i8>-2147483648</i8>" in xmlrpc.client.dumps((-(2**31),))
    assert "<boolean>1</boolean>" in xmlrpc.client.dumps((True,))
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path)
    server.register_instance(Big())
    serve(server)
    try:
        client = UnixXmlRpcClient(path, 2)
        assert client.big() == 2**40 and client.small() == 7 and client.flag() is True
    finally:
        server.shutdown()
        server.server_close()


def test_socket_mode_ignores_the_umask_and_group_mode(tmp_path):
    old = os.umask(0)
    try:
        server = UnixXmlRpcServer(str(tmp_path / "a.sock"))
        assert os.stat(tmp_path / "a.sock").st_mode & 0o777 == 0o600
        server.server_close()
        import grp

        group = grp.getgrgid(os.getgid()).gr_name
        server = UnixXmlRpcServer(str(tmp_path / "b.sock"), group=group)
        info = os.stat(tmp_path / "b.sock")
        assert info.st_mode & 0o777 == 0o660 and info.st_gid == os.getgid()
        server.server_close()
    finally:
        os.umask(old)


def test_a_stale_socket_is_replaced_but_not_other_files(tmp_path):
    path = tmp_path / "c.sock"
    first = UnixXmlRpcServer(str(path))
    first.server_close()  # the file stays, as after a crash
    second = UnixXmlRpcServer(str(path))
    second.remove_socket()
    assert not path.exists()
    second.server_close()
    path.write_text("precious")
    with pytest.raises(OSError, match="not a socket"):
        UnixXmlRpcServer(str(path))
    assert path.read_text() == "precious"
