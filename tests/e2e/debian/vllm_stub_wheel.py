"""Writes a stub `vllm` wheel (Python standard library only) into the directory given.

The stub stands in for vLLM in the real-Debian tests, which have neither GPUs nor network:

  vllm --version                      prints the stub's version
  vllm serve MODEL --host H --port P  serves GET /health (200) and GET /v1/models (lists MODEL,
                                      or --served-model-name); other options are accepted and
                                      ignored, as vLLM's own are many
"""

import base64
import hashlib
import sys
import zipfile

NAME = "vllm"
VERSION = "0.0.0+stub"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"

CLI = r'''
"""The stub's command line."""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vllm import __version__


def serve(model, host, port):
    body = json.dumps({"object": "list", "data": [{"id": model, "object": "model"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/health":
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/v1/models":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"stub vLLM serving {model} on {host}:{port}", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(prog="vllm")
    parser.add_argument("--version", action="store_true")
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("model")
    serve_parser.add_argument("--host", default="0.0.0.0")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--served-model-name")
    args, _ignored = parser.parse_known_args()
    if args.version:
        print(__version__)
        return 0
    if args.command == "serve":
        serve(args.served_model_name or args.model, args.host, args.port)
        return 0
    parser.print_help(sys.stderr)
    return 2
'''

FILES = {
    f"{NAME}/__init__.py": f'__version__ = "{VERSION}"\n',
    f"{NAME}/cli.py": CLI.lstrip(),
    f"{DIST_INFO}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
    "Summary: Stand-in for vLLM in offline tests\n",
    f"{DIST_INFO}/WHEEL": "Wheel-Version: 1.0\nGenerator: phoenix-setup tests\n"
    "Root-Is-Purelib: true\nTag: py3-none-any\n",
    f"{DIST_INFO}/entry_points.txt": "[console_scripts]\nvllm = vllm.cli:main\n",
}


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def main(out_dir):
    wheel = f"{out_dir}/{NAME}-{VERSION}-py3-none-any.whl"
    record = ""
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in FILES.items():
            data = text.encode()
            archive.writestr(path, data)
            record += record_line(path, data)
        record += f"{DIST_INFO}/RECORD,,\n"
        archive.writestr(f"{DIST_INFO}/RECORD", record)
    print(wheel)


if __name__ == "__main__":
    main(sys.argv[1])
