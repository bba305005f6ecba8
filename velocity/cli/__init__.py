"""The ``velocity`` command line.

``velocity upload|download|delete|head|list|stat`` move and inspect data in
Swift / Rackspace Cloud Files; ``post``, ``copy``, ``tempurl``,
``capabilities`` and ``auth`` do what the swift CLI's verbs of those names do;
``velocity events consume`` downloads the files a CloudEvent announces,
``velocity serve`` runs a local Swift and ``velocity demo`` shows the whole
round trip.  Credentials come from ``OS_*`` / ``ST_*`` variables or from
``--auth-url``/``--user``/``--key``; ``--key -`` reads the key from standard
input and ``--key-prompt`` asks for it, so it never lands in the shell
history.  Exit status: 0 all done, 1 some items failed (each named on
standard error), 2 usage or authentication error, 141 when the reader of the
output went away (``velocity list | head -1``).

The modules: ``_parser`` (options and commands), ``_login`` (credentials from
flags and variables, the logged-in client), ``_output`` (streams, JSON records,
progress bar, summaries), ``_transfers``, ``_storage``, ``_tempurl`` and
``_local`` (the commands).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from velocity import errors
from velocity.cli._login import IDENTITIES, UsageError, credentials, prepare
from velocity.cli._output import CLOSED_STATUS, GuardedStream, OutputClosed, silence
from velocity.cli._parser import Incomplete, build_parser, size_type

__all__ = ["main", "build_parser", "credentials", "size_type", "UsageError", "IDENTITIES"]

_USAGE_ERRORS = (errors.ConfigurationError, errors.AuthenticationFailed,
                 errors.InvalidContainerName, errors.InvalidObjectName, errors.InvalidUrl)
_SECRET_VARIABLES = ("ST_KEY", "OS_PASSWORD", "OS_API_KEY", "OS_APPLICATION_CREDENTIAL_SECRET",
                     "OS_AUTH_TOKEN")


def _fail(args: argparse.Namespace, error: BaseException) -> None:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exc(file=sys.stderr)
    message = str(error) or error.__class__.__name__
    print("velocity: error: %s" % " ".join(message.split()), file=sys.stderr)


def _run(args: argparse.Namespace, secrets: list[str]) -> int:
    """Run the command ``args`` names; returns its exit status."""
    if args.storage:  # a command that talks to Swift: hide every secret
        secrets += [os.environ.get(name, "") for name in _SECRET_VARIABLES]
        if args.key and args.key != "-":
            secrets.append(args.key)
        secrets[:] = sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True)
    args.secrets, args.credentials = secrets, None
    if args.debug:
        import logging

        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("velocity").setLevel(logging.DEBUG)
    try:
        if args.storage and args.login:
            prepare(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("velocity: interrupted", file=sys.stderr)
        return 130
    except _USAGE_ERRORS as error:
        _fail(args, error)
        return 2
    except (errors.VelocityError, OSError, errors.ServerError) as error:
        _fail(args, error)
        return 1
    except OutputClosed:
        raise
    except Exception as error:  # noqa: BLE001 - one clear line, traceback with --debug
        _fail(args, error)
        if not args.debug:
            print("velocity: (run with --debug for the traceback)", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``velocity`` console script; returns the exit status."""
    stdout, stderr = sys.stdout, sys.stderr
    secrets: list[str] = []
    sys.stdout, sys.stderr = GuardedStream(stdout, secrets), GuardedStream(stderr, secrets)
    try:
        try:
            argv = sys.argv[1:] if argv is None else list(argv)
            try:
                args = build_parser(argv).parse_args(argv)
            except Incomplete:  # the whole parser says what is wrong
                args = build_parser().parse_args(argv)
            # what start-up made stays for the whole command: the garbage
            # collector need not look through it again and again
            gc.freeze()
            status = _run(args, secrets)
            sys.stdout.flush()
            sys.stderr.flush()
        except OutputClosed as closed:
            # as Unix tools do when the reader leaves (`velocity list | head -1`): quietly
            silence(closed.stream)
            status = CLOSED_STATUS
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, OutputClosed) as problem:
                if isinstance(problem, OutputClosed):
                    silence(problem.stream)
        sys.stdout, sys.stderr = stdout, stderr
    return status
