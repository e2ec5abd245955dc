"""The local AWS-compatible endpoint: moto server, with each request handled under one lock.

moto's threaded server applies DynamoDB conditional writes and transactions without isolation, so
two concurrent requests can both pass a condition that DynamoDB would let only one pass.
Serialising the requests (connections stay concurrent) gives the local endpoint the isolation the
real service has, which the project's race tests depend on.

moto's TransactWriteItems backs up every table the transaction names, by deep-copying the whole
table once per item of the transaction: on a table of 10,000 items a 100-item transaction copies a
million items, which takes seconds and, over a test suite, tens of gigabytes. Under the lock no
other request can interleave, so the backup here is of the touched items only.

Usage: python infra/aws-endpoint/serve.py [-H 127.0.0.1] [-p 4566]
"""

import argparse
import copy
import os
import signal
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


_transact_write_items = DynamoDBBackend.transact_write_items


def _touched_items(backend, transact_items):
    """(table, hash, range, item copy or None) for every item a transaction names."""
    touched = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key")
        if key is None and "Item" in op:
            key = {name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in op["Item"]}
        try:
            hash_value, range_value = backend.get_keys_value(table, key or {})
        except Exception:  # an invalid key: moto itself answers the error, nothing changes
            continue
        item = table.get_item(hash_value, range_value)
        touched.append((table, hash_value, range_value, copy.deepcopy(item) if item is not None else None))
    return touched


def transact_write_items(self, transact_items):
    touched = _touched_items(self, transact_items)
    Table.__deepcopy__ = lambda table, memo: table  # moto's whole-table backup becomes a no-op
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(touched):
            if before is None:
                table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = before
            else:
                table.items[hash_value] = before
        raise
    finally:
        del Table.__deepcopy__


DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # Materialise the body inside the lock: the operation is complete when it is released.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
