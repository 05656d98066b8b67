#!/usr/bin/env python3
"""gap_drive - the hold of a follower at a permanent gap, for bench/pg.sh
and bench/my.sh.

  gap_drive.py ROUNDS EVT-APPEND URL PSQL-COMMAND...
  gap_drive.py --mysql ROUNDS EVT-APPEND URL MARIADB-COMMAND...

Each round: a psql session (a writer that is not evt) inserts a row in a
transaction (its position is drawn); evt-append commits an event after it,
{"type":"g","i":I}; the psql session rolls back, leaving a permanent gap.
A follower (evt-tail, its lines stamped by tail_stamp) may print event I
only once the rollback is done.  Prints "I ROLLBACK" per round: the
CLOCK_MONOTONIC nanoseconds just before the ROLLBACK was sent.  With
--mysql the session is the mariadb client (run it with --batch
--skip-column-names --unbuffered), which has no \\echo: a SELECT 'done'
says the statements are done.
"""
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    done = "\\echo done"
    if args and args[0] == "--mysql":
        args = args[1:]
        done = "SELECT 'done';"
    rounds, append, url = int(args[0]), args[1], args[2]
    psql = subprocess.Popen(args[3:], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)

    def sql(text):
        # a line after the statements says they are done
        psql.stdin.write(text + "\n" + done + "\n")
        psql.stdin.flush()
        if psql.stdout.readline().strip() != "done":
            sys.exit("gap_drive: psql failed")

    for i in range(1, rounds + 1):
        sql("BEGIN; INSERT INTO events (stream, aggregate_id, version, "
            "timestamp, event) VALUES ('gap', 'g%d', 1, now(), "
            "'{\"type\":\"lost\"}');" % i)
        subprocess.run([append, "-q", "-d", url, "gap", "a",
                        '{"type":"g","i":%d}' % i], check=True)
        time.sleep(0.02)        # the follower is held at the gap now
        t = time.monotonic_ns()
        sql("ROLLBACK;")
        print(i, t, flush=True)
        time.sleep(0.05)
    psql.stdin.close()
    psql.wait()


main()
