#!/usr/bin/env python3
"""The local AWS-compatible server (moto) on 127.0.0.1:PORT, one request at a time.

moto's own `moto.server` is threaded and evaluates DynamoDB condition expressions without a
lock, so concurrent conditional writes of one item can both succeed; real DynamoDB makes each
conditional write atomic. Serving requests one after the other restores that.
"""
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

run_simple("127.0.0.1", int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
