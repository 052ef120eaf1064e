import errno

import zoro.errors as errors_module
from zoro.errors import PointNotFound, StorageError, StorageFull, ZoroError, storage_error


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def test_every_error_has_an_http_status() -> None:
    # stands in for an exhaustive match: a new error class must pick a real status
    for cls in _all_subclasses(ZoroError):
        assert 400 <= cls.status <= 599, cls
        assert cls.__module__ == errors_module.__name__


def test_full_disk_is_storage_full_and_other_io_is_storage_error() -> None:
    assert isinstance(storage_error(OSError(errno.ENOSPC, "full"), "x"), StorageFull)
    assert isinstance(storage_error(OSError(errno.EDQUOT, "quota"), "x"), StorageFull)
    other = storage_error(OSError(errno.EIO, "bad"), "writing the WAL")
    assert type(other) is StorageError
    assert "writing the WAL" in other.message


def test_point_not_found_reads_well_and_is_a_key_error() -> None:
    err = PointNotFound(7)
    assert isinstance(err, KeyError)
    assert str(err) == "No point with id 7 found"
