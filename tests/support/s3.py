"""A real S3-API server for the tests: moto's standalone server (``moto_server``, from the dev
extra) started as a subprocess on a free port of 127.0.0.1, and buckets in it."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start_moto() -> Iterator[str]:
    exe = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS},
    )
    try:
        for _ in range(200):  # up to ~20 s for the server to listen
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def make_bucket(endpoint: str) -> dict[str, str]:
    """A new bucket; returns the environment that points annotate's media store at it."""
    import boto3

    bucket = f"annotate-{secrets.token_hex(4)}"
    client = boto3.client("s3", endpoint_url=endpoint, **_creds())
    client.create_bucket(Bucket=bucket)
    return {**CREDENTIALS, "ANNOTATE_MEDIA_URL": f"s3://{bucket}/media", "ANNOTATE_S3_ENDPOINT": endpoint}


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }
