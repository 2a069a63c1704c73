"""The program `keyward run` starts in tests/run/main.rs: one action per argument.

hash VAR       print VAR's name and the SHA-256 of its value (proves the value arrived
               without printing it)
leak VAR       print the value alone, inside a line, and split across two flushed writes,
               on stdout and on stderr
env            print the names of the environment's variables, one line each
exit N         exit with code N
kill SIG       kill itself with signal SIG (TERM, KILL)
signals        take INT, TERM or HUP: print "ready", wait, print "got SIGNAME", exit 3
reraise        like signals, then re-raise the signal with its default action
echo           print "ready", then echo one line of stdin as "echo: LINE"
marker PATH    create PATH (proves the program ran)
"""

import hashlib
import os
import signal
import sys


def out(stream, text):
    stream.write(text)
    stream.flush()


def leak(var):
    value = os.environ[var]
    for stream in (sys.stdout, sys.stderr):
        out(stream, value + "\n")
        out(stream, "inside [" + value + "] a line\n")
        half = len(value) // 2
        out(stream, "split " + value[:half])
        out(stream, value[half:] + " end\n")


def wait_for_signal(reraise):
    # The signals are blocked before "ready" and taken with sigwait, so one that comes at any
    # moment after "ready" waits, pending, until it is taken. (A handler and a loop around
    # signal.pause() lose a signal that lands between the loop's check and the pause: the
    # pause then waits for ever. One loaded run of the suite hung that way.)
    signals = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    out(sys.stdout, "ready\n")
    signum = signal.sigwait(signals)
    out(sys.stdout, "got " + signal.Signals(signum).name + "\n")
    if reraise:
        # The default action, then the signal again: pending while blocked, it ends the
        # process the moment it is unblocked.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    sys.exit(3)


def main(args):
    i = 0
    while i < len(args):
        action = args[i]
        i += 1
        if action == "hash":
            var = args[i]
            i += 1
            digest = hashlib.sha256(os.environ[var].encode()).hexdigest()
            out(sys.stdout, var + " " + digest + "\n")
        elif action == "leak":
            leak(args[i])
            i += 1
        elif action == "env":
            for name in sorted(os.environ):
                out(sys.stdout, name + "\n")
        elif action == "exit":
            sys.exit(int(args[i]))
        elif action == "kill":
            os.kill(os.getpid(), getattr(signal, "SIG" + args[i]))
        elif action == "signals":
            wait_for_signal(reraise=False)
        elif action == "reraise":
            wait_for_signal(reraise=True)
        elif action == "echo":
            out(sys.stdout, "ready\n")
            line = sys.stdin.readline()
            out(sys.stdout, "echo: " + line)
        elif action == "marker":
            with open(args[i], "w") as f:
                f.write("ran\n")
            i += 1
        else:
            raise SystemExit("unknown action " + action)


if __name__ == "__main__":
    main(sys.argv[1:])
