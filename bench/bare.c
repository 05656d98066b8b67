/*
 * bare - the yardstick for `make bench`: the plain SQLite C API doing what
 * evt-append and evt-read do, with nothing in between.
 *
 *   bare insert DB N   create the evtstore schema (WAL, synchronous=FULL) and
 *                      insert N events {"type":"incremented","n":I} to stream
 *                      "bench", aggregate "a1", versions 1..N, in one
 *                      transaction with one prepared statement
 *   bare read DB       print every event in position order as an NDJSON
 *                      record (SPEC §3) on stdout
 *   bare one DB        append one event {"type":"x"} to stream "s", aggregate
 *                      "a1" at its next version, as one evt-append invocation
 *                      does: open, schema if missing, BEGIN IMMEDIATE, read
 *                      the version, insert, COMMIT
 *   bare streams DB    print one line per stream as `evt-read --streams` does
 *                      (SPEC §4), from the plain GROUP BY stream query
 *   bare aggregates DB STREAM
 *                      print one line per aggregate of STREAM as
 *                      `evt-read --aggregates STREAM` does, from the plain
 *                      GROUP BY aggregate_id query
 *
 * It prints nothing else; bench/run.sh does the timing.
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *schema =
	"CREATE TABLE IF NOT EXISTS events (position INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,"
	" version INTEGER, stream VARCHAR(255), aggregate_id VARCHAR(255),"
	" timestamp DATETIME, event TEXT);"
	"CREATE UNIQUE INDEX IF NOT EXISTS events_stream_position_unique"
	" ON events (stream, position);"
	"CREATE UNIQUE INDEX IF NOT EXISTS events_stream_aggregate_id_version_unique"
	" ON events (stream, aggregate_id, version);"
	"CREATE TABLE IF NOT EXISTS bookmarks (bookmark VARCHAR(255) PRIMARY KEY, position BIGINT);";

static void
die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "bare: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
	exit(1);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bare: %s: %s\n", sql, msg ? msg : "failed");
		exit(1);
	}
}

static void
iso_time(char *out, size_t size, long long ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&s, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03dZ", base, (int)(ms % 1000));
}

static sqlite3 *
open_rw(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die(db, path);
	sqlite3_busy_timeout(db, 5000);
	exec(db, "PRAGMA journal_mode=WAL");
	exec(db, "PRAGMA synchronous=FULL");
	exec(db, schema);
	return db;
}

static void
now_iso(char *out, size_t size)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	iso_time(out, size, (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

static int
insert(const char *path, long long n)
{
	sqlite3 *db = open_rw(path);
	sqlite3_stmt *st;
	char ts[40], ev[64];
	long long i;

	if (sqlite3_prepare_v2(db,
	    "INSERT INTO events (version, stream, aggregate_id, timestamp, event)"
	    " VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare");
	now_iso(ts, sizeof ts);

	exec(db, "BEGIN IMMEDIATE");
	sqlite3_bind_text(st, 2, "bench", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, "a1", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ts, -1, SQLITE_STATIC);
	for (i = 1; i <= n; i++) {
		int len = snprintf(ev, sizeof ev,
		    "{\"type\":\"incremented\",\"n\":%lld}", i);

		sqlite3_bind_int64(st, 1, i);
		sqlite3_bind_text(st, 5, ev, len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die(db, "insert");
		sqlite3_reset(st);
	}
	exec(db, "COMMIT");
	sqlite3_finalize(st);
	if (sqlite3_close(db) != SQLITE_OK)
		die(db, "close");
	return 0;
}

static int
one(const char *path)
{
	sqlite3 *db = open_rw(path);
	sqlite3_stmt *sel, *ins;
	char ts[40];

	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM events"
	    " WHERE stream = 's' AND aggregate_id = 'a1'", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	    "INSERT INTO events (version, stream, aggregate_id, timestamp, event)"
	    " VALUES (?, 's', 'a1', ?, '{\"type\":\"x\"}')", -1, &ins, NULL) != SQLITE_OK)
		die(db, "prepare");
	now_iso(ts, sizeof ts);
	exec(db, "BEGIN IMMEDIATE");
	if (sqlite3_step(sel) != SQLITE_ROW)
		die(db, "select");
	sqlite3_bind_int64(ins, 1, sqlite3_column_int64(sel, 0) + 1);
	sqlite3_bind_text(ins, 2, ts, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE)
		die(db, "insert");
	exec(db, "COMMIT");
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	if (sqlite3_close(db) != SQLITE_OK)
		die(db, "close");
	return 0;
}

/*
 * Output: one large buffer, written out when the next record may not fit.
 * A record is formatted straight into it; one larger than the whole buffer
 * (a huge event) is written out in pieces.
 */
static char obuf[1 << 20];
static size_t olen;

static void
wall(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);

		if (w < 0) {
			perror("bare: write");
			exit(1);
		}
		s += w;
		n -= (size_t)w;
	}
}

static void
oflush(void)
{
	wall(obuf, olen);
	olen = 0;
}

#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

static char *
pint(char *p, long long v)
{
	char tmp[24], *t = tmp + sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--t = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--t = '-';
	memcpy(p, t, (size_t)(tmp + sizeof tmp - t));
	return p + (tmp + sizeof tmp - t);
}

/* A JSON string: quotes, backslashes and control characters escaped. At
 * most 6 * n + 2 bytes. */
static char *
pstr(char *p, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	*p++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\') {
			*p++ = (char)c;
		} else if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f') {
			*p++ = '\\';
			*p++ = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' :
			    c == '\b' ? 'b' : 'f';
		} else {
			p = LIT(p, "\\u00");
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p++ = '"';
	return p;
}

static int
readall(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK)
		die(db, path);
	if (sqlite3_prepare_v2(db,
	    "SELECT position, stream, aggregate_id, version, timestamp, event"
	    " FROM events ORDER BY position", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *stream, *id, *ts, *ev;
		size_t slen, ilen, tlen, elen, head;
		char tsbuf[40], *p;

		stream = sqlite3_column_text(st, 1);
		slen = (size_t)sqlite3_column_bytes(st, 1);
		id = sqlite3_column_text(st, 2);
		ilen = (size_t)sqlite3_column_bytes(st, 2);
		if (sqlite3_column_type(st, 4) == SQLITE_INTEGER) {
			iso_time(tsbuf, sizeof tsbuf, sqlite3_column_int64(st, 4));
			ts = (const unsigned char *)tsbuf;
			tlen = strlen(tsbuf);
		} else {
			ts = sqlite3_column_text(st, 4);
			tlen = (size_t)sqlite3_column_bytes(st, 4);
		}
		ev = sqlite3_column_text(st, 5);
		elen = (size_t)sqlite3_column_bytes(st, 5);

		/* everything but the event, and the two bytes after it */
		head = 128 + 6 * (slen + ilen + tlen);
		if (olen + head + elen > sizeof obuf)
			oflush();
		if (head > sizeof obuf) {
			fprintf(stderr, "bare: record too large\n");
			exit(1);
		}
		p = obuf + olen;
		p = LIT(p, "{\"position\":");
		p = pint(p, sqlite3_column_int64(st, 0));
		p = LIT(p, ",\"stream\":");
		p = pstr(p, stream, slen);
		p = LIT(p, ",\"aggregateId\":");
		p = pstr(p, id, ilen);
		p = LIT(p, ",\"version\":");
		p = pint(p, sqlite3_column_int64(st, 3));
		p = LIT(p, ",\"timestamp\":");
		p = pstr(p, ts, tlen);
		p = LIT(p, ",\"event\":");
		if (head + elen <= sizeof obuf) {
			memcpy(p, ev, elen);
			p += elen;
		} else {
			olen = (size_t)(p - obuf);
			oflush();
			wall((const char *)ev, elen);
			p = obuf;
		}
		p = LIT(p, "}\n");
		olen = (size_t)(p - obuf);
	}
	if (rc != SQLITE_DONE)
		die(db, "select");
	oflush();
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

/* --streams and --aggregates STREAM: the grouped query, one line a group */
static int
summary(const char *path, const char *stream)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK)
		die(db, path);
	if (sqlite3_prepare_v2(db, stream ?
	    "SELECT stream, aggregate_id, max(version), max(position) FROM events"
	    " WHERE stream = ?1 GROUP BY aggregate_id ORDER BY aggregate_id" :
	    "SELECT stream, count(*), count(DISTINCT aggregate_id), max(position)"
	    " FROM events GROUP BY stream ORDER BY stream", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare");
	if (stream)
		sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		size_t slen = (size_t)sqlite3_column_bytes(st, 0);
		const unsigned char *id = sqlite3_column_text(st, 1);
		size_t ilen = (size_t)sqlite3_column_bytes(st, 1);
		char *p;

		if (s == NULL || (stream && id == NULL))
			continue;
		if (olen + 128 + 6 * (slen + ilen) > sizeof obuf)
			oflush();
		p = obuf + olen;
		p = LIT(p, "{\"stream\":");
		p = pstr(p, s, slen);
		if (stream) {
			p = LIT(p, ",\"aggregateId\":");
			p = pstr(p, id, ilen);
			p = LIT(p, ",\"version\":");
			p = pint(p, sqlite3_column_int64(st, 2));
		} else {
			p = LIT(p, ",\"events\":");
			p = pint(p, sqlite3_column_int64(st, 1));
			p = LIT(p, ",\"aggregates\":");
			p = pint(p, sqlite3_column_int64(st, 2));
		}
		p = LIT(p, ",\"position\":");
		p = pint(p, sqlite3_column_int64(st, 3));
		p = LIT(p, "}\n");
		olen = (size_t)(p - obuf);
	}
	if (rc != SQLITE_DONE)
		die(db, "select");
	oflush();
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "insert") == 0) {
		char *end;
		long long n = strtoll(argv[3], &end, 10);

		if (*argv[3] == '\0' || *end != '\0' || n < 0) {
			fprintf(stderr, "bare: bad count '%s'\n", argv[3]);
			return 2;
		}
		return insert(argv[2], n);
	}
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return readall(argv[2]);
	if (argc == 3 && strcmp(argv[1], "one") == 0)
		return one(argv[2]);
	if (argc == 3 && strcmp(argv[1], "streams") == 0)
		return summary(argv[2], NULL);
	if (argc == 4 && strcmp(argv[1], "aggregates") == 0)
		return summary(argv[2], argv[3]);
	fprintf(stderr, "usage: bare insert DB N\n       bare read DB\n       bare one DB\n"
	    "       bare streams DB\n       bare aggregates DB STREAM\n");
	return 2;
}
