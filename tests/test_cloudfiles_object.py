"""StorageObject against a real Swift (LocalSwift): python-cloudfiles' ObjectTest
ported, plus verification, streaming, chunked send, callbacks and copies."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys

import pytest
import swiftclient

from velocity import errors
from velocity.storage_object import CHUNK_SIZE, StorageObject

TEXT = b"the rain in spain ..."
TEAPOT = b"I am a teapot, short and stout\n"


@pytest.fixture
def teapot(container, raw_conn):
    raw_conn.put_object(container.name, "object1", TEAPOT, content_type="text/plain")
    return container.get_object("object1")


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))


class ChunkOnly(io.RawIOBase):
    """A non-seekable stream that refuses to be read whole (read() / read(-1))."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.largest = 0

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("the upload read the whole stream at once")
        self.largest = max(self.largest, size)
        return self._data.read(size)


# -- python-cloudfiles' ObjectTest -----------------------------------------------------

def test_head_attributes(teapot):
    assert teapot.size == len(TEAPOT)
    assert teapot.etag == hashlib.md5(TEAPOT).hexdigest()
    assert teapot.content_type == "text/plain"
    assert teapot.last_modified and teapot.metadata == {}
    assert str(teapot) == "object1" and teapot.objsum == teapot.etag


def test_read(teapot):
    assert b"teapot" in teapot.read()


def test_read_pass_headers_without_changing_them(teapot):
    hdrs = {"x-bogus-header-1": "bogus value", "x-bogus-header-2": "bogus value"}
    assert teapot.read(size=6, offset=7, hdrs=hdrs) == b"teapot"
    assert "Range" not in hdrs  # python-cloudfiles added it to the caller's dict


def test_read_ranges(teapot):
    assert teapot.read(size=6, offset=7) == TEAPOT[7:13]
    assert teapot.read(offset=7) == TEAPOT[7:]  # python-cloudfiles ignored offset here


def test_response_error_for_a_missing_object(container):
    obj = container.create_object("bogus")
    with pytest.raises(errors.ResponseError) as info:  # legacy except clauses still work
        obj.read()
    assert isinstance(info.value, errors.NoSuchObject) and info.value.status == 404


def test_write_bytes(container, raw_conn):
    obj = container.create_object("object1")
    obj.write(TEXT)
    headers, body = raw_conn.get_object(container.name, "object1")
    assert body == TEXT
    assert obj.etag == hashlib.md5(TEXT).hexdigest() == headers["etag"]
    assert obj.size == len(TEXT)


def test_write_str_is_utf8(container, raw_conn):
    obj = container.create_object("greeting.txt")
    obj.write("¡hola!")
    headers, body = raw_conn.get_object(container.name, "greeting.txt")
    assert body == "¡hola!".encode()
    assert headers["content-type"].startswith("text/plain")  # guessed from the name


def test_write_with_bytesio(container, raw_conn):
    container.create_object("object1").write(io.BytesIO(TEXT))
    assert raw_conn.get_object(container.name, "object1")[1] == TEXT


def test_write_with_file(container, raw_conn, tmp_path):
    path = tmp_path / "sample.txt"
    path.write_bytes(TEXT)
    with open(path, "rb") as handle:
        container.create_object("object1").write(handle)
    assert raw_conn.get_object(container.name, "object1")[1] == TEXT


def test_write_streams_a_file_like_in_chunks(container, raw_conn):
    data = os.urandom(3 * CHUNK_SIZE + 100)
    source = ChunkOnly(data)
    obj = container.create_object("streamed")
    progress = Recorder()
    obj.write(source, callback=progress)
    assert source.largest <= CHUNK_SIZE
    headers, body = raw_conn.get_object(container.name, "streamed")
    assert body == data and headers["etag"] == hashlib.md5(data).hexdigest()
    assert obj.etag == headers["etag"]
    assert progress.calls[-1] == (len(data), len(data))


def test_write_sends_the_etag_and_the_server_refuses_a_wrong_one(container, raw_conn):
    obj = container.create_object("guarded")
    obj.etag = "0" * 32  # python-cloudfiles: an assigned etag is sent as is
    with pytest.raises(errors.ChecksumMismatch):
        obj.write(TEXT)
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_object(container.name, "guarded")  # nothing half-stored


def test_file_changing_during_upload_stores_nothing(container, raw_conn):
    class Shifty(io.BytesIO):
        """Hashes as one content, sends another (a file rewritten mid-upload)."""

        def __init__(self):
            super().__init__(b"A" * 1000)
            self.passes = 0

        def seek(self, pos, whence=0):
            self.passes += 1
            if self.passes == 1:
                self.getbuffer()[:] = b"B" * 1000
            return super().seek(pos, whence)

    with pytest.raises(errors.ChecksumMismatch):
        container.create_object("shifty").write(Shifty())
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_object(container.name, "shifty")


def test_write_progress_callback(container):
    data = os.urandom(2 * CHUNK_SIZE + 10)
    progress = Recorder()
    container.create_object("cb").write(io.BytesIO(data), callback=progress)
    done = [d for d, _ in progress.calls]
    assert done == sorted(done)
    assert all(total == len(data) for _, total in progress.calls)
    assert progress.calls[-1] == (len(data), len(data))  # python-cloudfiles never got there


def test_send_chunked_from_a_generator(container, raw_conn):
    obj = container.create_object("gen")
    obj.content_type = "text/plain"
    obj.send(part for part in (b"the ", "rain ", b"in ", b"spain ..."))
    headers, body = raw_conn.get_object(container.name, "gen")
    assert body == TEXT and headers["content-type"] == "text/plain"
    assert obj.etag == hashlib.md5(TEXT).hexdigest() and obj.size == len(TEXT)


def test_send_with_size(container, raw_conn):
    obj = container.create_object("sized")
    obj.size = 21
    obj.content_type = "text/plain"
    obj.send(iter([b"the ", b"rain ", b"in ", b"spain ..."]))
    assert raw_conn.get_object(container.name, "sized")[1] == TEXT


def test_send_short_iterable_stores_nothing(container, raw_conn):
    obj = container.create_object("short")
    obj.size = 100
    with pytest.raises(errors.IncompleteSend):
        obj.send(iter([b"only ", b"a bit"]))
    with pytest.raises(swiftclient.ClientException):
        raw_conn.head_object(container.name, "short")


def test_send_a_str_sends_it_once(container, raw_conn):
    container.create_object("once").send("just once")
    assert raw_conn.get_object(container.name, "once")[1] == b"just once"


def test_sync_metadata(teapot, raw_conn):
    teapot.headers["content-encoding"] = "gzip"
    teapot.metadata["unit"] = "test"
    teapot.sync_metadata()
    headers = raw_conn.head_object(teapot.container.name, "object1")
    assert headers["x-object-meta-unit"] == "test"
    assert headers["content-encoding"] == "gzip"
    # a later update keeps the content encoding, and an empty dict clears metadata
    again = teapot.container.get_object("object1")
    assert again.metadata == {"unit": "test"}
    again.metadata = {}
    again.sync_metadata()
    headers = raw_conn.head_object(teapot.container.name, "object1")
    assert "x-object-meta-unit" not in headers
    assert headers["content-encoding"] == "gzip"


def test_metadata_goes_up_with_write(container, raw_conn):
    obj = container.create_object("with-meta")
    obj.metadata = {"Color": "blue"}
    obj.write(b"data")
    assert raw_conn.head_object(container.name, "with-meta")["x-object-meta-color"] == "blue"
    assert container.get_object("with-meta").metadata == {"color": "blue"}


def test_load_from_file(container, raw_conn, tmp_path):
    path = tmp_path / "samplefile.txt"
    path.write_bytes(TEXT * 100)
    progress = Recorder()
    obj = container.create_object("loaded")
    obj.load_from_filename(str(path), callback=progress)
    assert raw_conn.get_object(container.name, "loaded")[1] == TEXT * 100
    assert progress.calls[-1] == (len(TEXT) * 100, len(TEXT) * 100)


def test_save_to_filename(teapot, tmp_path):
    target = tmp_path / "out.txt"
    progress = Recorder()
    teapot.save_to_filename(str(target), callback=progress)
    assert target.read_bytes() == teapot.read()
    assert progress.calls[-1] == (len(TEAPOT), len(TEAPOT))
    assert os.listdir(tmp_path) == ["out.txt"]  # no temporary file left


def test_save_missing_object_leaves_nothing(container, tmp_path):
    target = tmp_path / "out.txt"
    target.write_bytes(b"previous content")
    with pytest.raises(errors.NoSuchObject):
        container.create_object("ghost").save_to_filename(target)
    assert target.read_bytes() == b"previous content"  # untouched
    assert os.listdir(tmp_path) == ["out.txt"]


_SAVE_IN_A_FRESH_PROCESS = """
import os, sys
os.umask(int(sys.argv[1], 8))
from velocity.connection import Connection
conn = Connection(os.environ["T_USER"], os.environ["T_KEY"], authurl=os.environ["T_AUTH"])
conn.get_container(sys.argv[2]).get_object(sys.argv[3]).save_to_filename(sys.argv[4])
"""


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_saved_file_gets_the_mode_the_umask_gives(swift_server, teapot, tmp_path, umask,
                                                  mode):
    # a fresh process: the umask is the process's, read once
    target = tmp_path / "out.txt"
    env = dict(os.environ, T_USER=swift_server.user, T_KEY=swift_server.key,
               T_AUTH=swift_server.auth_url)
    subprocess.run([sys.executable, "-c", _SAVE_IN_A_FRESH_PROCESS, oct(umask),
                    teapot.container.name, teapot.name, str(target)],
                   env=env, check=True, timeout=120)
    assert target.read_bytes() == TEAPOT
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.listdir(tmp_path) == ["out.txt"]


def _interrupt_after_first_chunk(done, total):
    if done < total:
        raise KeyboardInterrupt


@pytest.mark.parametrize("failure", ["interrupted", "corrupted"])
def test_failed_download_leaves_nothing_at_the_final_name(conn, container, raw_conn,
                                                          tmp_path, monkeypatch, failure):
    data = os.urandom(3 * CHUNK_SIZE + 100)
    raw_conn.put_object(container.name, "data.bin", data)
    obj = container.get_object("data.bin")
    callback = None
    if failure == "interrupted":
        callback, expected = _interrupt_after_first_chunk, KeyboardInterrupt
    else:
        real_get = conn.client.get_object

        def corrupted_get(*args, **kwargs):
            headers, body = real_get(*args, **kwargs)
            return headers, (bytes(len(chunk)) for chunk in body)

        monkeypatch.setattr(conn.client, "get_object", corrupted_get)
        expected = errors.ChecksumMismatch
    target = tmp_path / "data.bin"
    with pytest.raises(expected):
        obj.save_to_filename(target, callback=callback)
    assert not target.exists()
    assert os.listdir(tmp_path) == []  # no temporary file either


def test_read_into_a_buffer_with_callback(teapot):
    buffer = io.BytesIO()
    progress = Recorder()
    assert teapot.read(buffer=buffer, callback=progress) is None
    assert buffer.getvalue() == TEAPOT
    assert progress.calls[-1] == (len(TEAPOT), len(TEAPOT))


def test_stream(container, raw_conn):
    data = os.urandom(20000)
    raw_conn.put_object(container.name, "big", data)
    chunks = list(container.get_object("big").stream(chunksize=8192))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 8192 and len(chunks) >= 3


def test_stream_missing_object_fails_at_the_call(container):
    with pytest.raises(errors.NoSuchObject):
        container.create_object("ghost").stream()


def test_compute_md5sum(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(10000))
    with open(path, "rb") as handle:
        assert StorageObject.compute_md5sum(handle) == hashlib.md5(path.read_bytes()).hexdigest()
        assert handle.tell() == 0


def test_bad_name(container):
    obj = StorageObject(container)
    for name in (None, ""):
        obj.name = name
        for call in (obj.read, obj.stream, obj.sync_metadata, lambda: obj.write(b"")):
            with pytest.raises(errors.InvalidObjectName):
                call()
    obj.name = "a" * 1025
    for call in (obj.read, obj.stream, obj.sync_metadata, lambda: obj.write(b"")):
        with pytest.raises(errors.InvalidObjectName, match="1024"):
            call()
    obj.name = "a" * 1024
    obj.write(b"")
    assert obj.read() == b""
    assert b"".join(obj.stream()) == b""
    obj.sync_metadata()


def test_bad_meta_data(teapot):
    teapot.metadata["a" * 129] = "value"
    with pytest.raises(errors.InvalidMetaName, match="128"):
        teapot.sync_metadata()
    del teapot.metadata["a" * 129]
    teapot.metadata["a" * 128] = "v" * 257
    with pytest.raises(errors.InvalidMetaValue, match="256"):
        teapot.sync_metadata()
    with pytest.raises(errors.InvalidMetaValue):
        teapot.write(b"never sent")
    assert teapot.container.get_object("object1").read() == TEAPOT


# -- copies ------------------------------------------------------------------------------

def test_copy_to(conn, teapot, raw_conn):
    teapot.metadata["kind"] = "kettle"
    teapot.sync_metadata()
    other = conn.create_container(teapot.container.name + "_segments")
    teapot.copy_to(other, "copy")
    headers, body = raw_conn.get_object(other.name, "copy")
    assert body == TEAPOT and headers["x-object-meta-kind"] == "kettle"
    teapot.copy_to(teapot.container.name, "same-container copy")
    assert raw_conn.get_object(teapot.container.name, "same-container copy")[1] == TEAPOT
    raw_conn.delete_object(other.name, "copy")


def test_copy_from(container, teapot, raw_conn):
    target = container.create_object("dest")
    target.metadata = {"extra": "1"}
    target.copy_from(container.name, "object1")
    headers, body = raw_conn.get_object(container.name, "dest")
    assert body == TEAPOT and headers["x-object-meta-extra"] == "1"
    assert target.size == len(TEAPOT) and target.etag == teapot.etag


def test_copy_of_a_missing_object(container):
    with pytest.raises(errors.NoSuchObject):
        container.create_object("ghost").copy_to(container.name, "x")


def test_purge_without_cdn(teapot):
    with pytest.raises(errors.CDNNotEnabled):  # python-cloudfiles: NameError
        teapot.purge_from_cdn()


# -- large files go through the transfer engine -------------------------------------------

def test_large_file_is_segmented_up_and_atomic_down(conn, container, raw_conn, tmp_path,
                                                    monkeypatch):
    from velocity import transfer

    monkeypatch.setattr(conn, "transfer_config", transfer.TransferConfig(
        segment_size=64 * 1024, segment_threshold=100 * 1024))
    data = os.urandom(300 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    obj = container.create_object("big.bin")
    obj.metadata = {"origin": "test"}
    up = Recorder()
    obj.load_from_filename(source, callback=up)
    headers = raw_conn.head_object(container.name, "big.bin")
    assert headers.get("x-static-large-object") == "True" or "x-object-manifest" in headers
    assert headers["x-object-meta-origin"] == "test"
    assert up.calls[-1] == (len(data), len(data))
    assert obj.size == len(data)

    down_dir = tmp_path / "down"
    down_dir.mkdir()
    target = down_dir / "copy.bin"
    down = Recorder()
    container.get_object("big.bin").save_to_filename(target, callback=down)
    assert target.read_bytes() == data
    assert os.listdir(down_dir) == ["copy.bin"]
    assert down.calls[-1] == (len(data), len(data))
    assert hashlib.md5(container.get_object("big.bin").read()).digest() == \
        hashlib.md5(data).digest()
