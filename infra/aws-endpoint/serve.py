"""The local AWS-compatible endpoint: moto server, with each request handled under one lock.

moto's threaded server applies DynamoDB conditional writes and transactions without isolation, so
two concurrent requests can both pass a condition that DynamoDB would let only one pass.
Serialising the requests (connections stay concurrent) gives the local endpoint the isolation the
real service has, which the project's race tests depend on.

Usage: python infra/aws-endpoint/serve.py [-H 127.0.0.1] [-p 4566]
"""

import argparse
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


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
