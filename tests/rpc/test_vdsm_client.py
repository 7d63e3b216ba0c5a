"""vdsm's MomClient, unchanged, against a real momd on a UNIX socket.

The client below is written the way vdsm's ``vdsm.common.unixrpc.UnixXmlRpcClient``
works (spec 4): the socket path base16-encoded as the HTTP host, ``POST /RPC2``,
``allow_none``, a 2 s timeout; the calls are the ones vdsm's ``MomClient`` makes.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import stat
import xmlrpc.client

import pytest


class VdsmUnixConnection(http.client.HTTPConnection):
    def __init__(self, host, timeout):
        http.client.HTTPConnection.__init__(self, host)
        self._timeout = timeout

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self._timeout)
        self.sock.connect(base64.b16decode(self.host))


class VdsmUnixTransport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        xmlrpc.client.Transport.__init__(self)
        self._timeout = timeout

    def make_connection(self, host):
        return VdsmUnixConnection(host, self._timeout)


def vdsm_client(sock_path, timeout=2):
    host = base64.b16encode(sock_path.encode("utf-8")).decode("utf-8")
    return xmlrpc.client.ServerProxy("http://%s/RPC2" % host, transport=VdsmUnixTransport(timeout), allow_none=True)


KSM_KEYS = ("ksm_run", "ksm_pages_to_scan", "ksm_merge_across_nodes", "ksm_pages_sharing", "ksmd_cpu_usage")


def test_mom_client_calls(unix_momd):
    _, sock = unix_momd
    client = vdsm_client(sock)
    assert client.ping()  # -> 'active'
    # MomClient.setPolicyParameters: "(set key repr(value))" lines as 01-parameters
    parameters = "\n".join(["(set ksmEnabled True)", "(set name 'vm-1')"])
    assert client.setNamedPolicy("01-parameters", parameters) is True
    assert "(set ksmEnabled True)" in client.getPolicy()
    stats = client.getStatistics()
    host = stats["host"]
    for key in KSM_KEYS:  # vdsm computes with them (memShared: pages_sharing * page size, in MiB)
        assert isinstance(host[key], int), key
    assert set(stats) >= {"host", "guests"}


def test_guest_statistics_reach_vdsm(unix_momd):
    _, sock = unix_momd
    from tests.helpers import wait_for

    client = vdsm_client(sock)
    guests = wait_for(lambda: client.getStatistics()["guests"])
    assert set(guests) == {"vm0000", "vm0001"}
    assert guests["vm0000"]["balloon_cur"] == 2097152
    assert sorted(client.getActiveGuests()) == ["vm0000", "vm0001"]


def test_set_policy_as_vdsm_does(unix_momd):
    _, sock = unix_momd
    client = vdsm_client(sock)
    named = client.getNamedPolicies()
    assert client.setPolicy("(+ 1 1)") is True
    assert client.getNamedPolicies() == {"50_main_": "(+ 1 1)"}
    assert client.setPolicy("(((") is False  # the return value vdsm ignores
    assert client.resetPolicies() is True
    assert set(client.getNamedPolicies()) == set(named) | {"01-parameters"}


def test_none_is_allowed_on_the_socket(unix_momd):
    _, sock = unix_momd
    client = vdsm_client(sock)
    assert client.setNamedPolicy("01-parameters", None) is True  # None in a request
    assert client.resetPolicies() is True


def test_socket_is_owner_only(unix_momd):
    _, sock = unix_momd
    mode = os.stat(sock).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_slash_path_also_answers_on_the_socket(unix_momd):
    _, sock = unix_momd
    host = base64.b16encode(sock.encode()).decode()
    proxy = xmlrpc.client.ServerProxy("http://%s/" % host, transport=VdsmUnixTransport(2), allow_none=True)
    assert proxy.ping() is True


@pytest.mark.parametrize(
    "method, fault",
    [
        ("nosuch", "<class 'Exception'>:method \"nosuch\" is not supported"),
        ("_publish", "<class 'Exception'>:method \"_publish\" is not supported"),
        ("threads", "<class 'TypeError'>:'dict' object is not callable"),
    ],
)
def test_faults_are_the_stock_dispatchers(unix_momd, method, fault):
    _, sock = unix_momd
    with pytest.raises(xmlrpc.client.Fault) as info:
        getattr(vdsm_client(sock), method)()
    assert info.value.faultCode == 1
    assert info.value.faultString == fault


def test_introspection_lists_exactly_the_api(unix_momd):
    _, sock = unix_momd
    client = vdsm_client(sock)
    assert sorted(client.system.listMethods()) == sorted(
        [
            "getActions",  # this project's (README "Lifecycle actions")
            "getActiveGuests",
            "getGuestSla",  # this project's (README "SLA classes")
            "setGuestSla",
            "getNamedPolicies",
            "getPolicy",
            "getStatistics",
            "ping",
            "resetPolicies",
            "setNamedPolicy",
            "setPolicy",
            "setVerbosity",
            "system.listMethods",
            "system.methodHelp",
            "system.methodSignature",
        ]
    )
    assert "Every policy" in client.system.methodHelp("getPolicy")
