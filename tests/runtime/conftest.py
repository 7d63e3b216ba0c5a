"""Running MOM in-process, as upstream's GeneralTests do: ``mom.MOM("", config).run()`` on a thread."""

from __future__ import annotations

import configparser
import threading

import pytest

import mom
from tests.helpers import libvirt_test_host, momd_config, wait_for


class Running:
    def __init__(self, instance, thread):
        self.mom = instance
        self.thread = thread

    def stop(self, timeout=15.0):
        self.mom.shutdown()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "MOM did not stop"


@pytest.fixture
def start_mom(tmp_path):
    """Start MOM on a private test-driver host: ``start_mom(guests=3, main={...}, ...)``."""
    running = []

    def start(guests=3, main=None, sections=None, wait_api=True, file_sections=None):
        host_xml = tmp_path / f"host{len(running)}.xml"
        libvirt_test_host(str(host_xml), guests)
        config = momd_config(f"test://{host_xml}", main=main, sections=sections)
        conf_file = ""
        if file_sections:  # sections the overrides cannot add (upstream skips new ones)
            conf_path = tmp_path / f"mom{len(running)}.conf"
            file_config = configparser.ConfigParser(interpolation=None)
            file_config.read_dict(file_sections)
            with open(conf_path, "w") as handle:
                file_config.write(handle)
            conf_file = str(conf_path)
        instance = mom.MOM(conf_file, config)
        thread = threading.Thread(target=instance.run, name="test-mom", daemon=True)
        thread.start()
        handle = Running(instance, thread)
        running.append(handle)
        if wait_api:
            wait_for(lambda: hasattr(instance, "ping") or not thread.is_alive())
        return handle

    yield start
    for handle in running:
        handle.mom.shutdown()
        handle.thread.join(15)

