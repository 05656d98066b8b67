/*
 * pq_start - what a one-event evt-append on PostgreSQL pays before its
 * first statement, for `make bench` (bench/pg.sh), timed by bench/spawn.c.
 *
 *   pq_start load            load libpq with dlopen, as evt does, and exit
 *   pq_start connect URL     the same, then connect and disconnect
 *   pq_start exec URL SQL    the same, then send SQL (one query string, in
 *                            one round trip; one statement is its own
 *                            transaction) before disconnecting: the floor
 *                            of a one-event append is an INSERT
 *
 * Subtracting /bin/true and then "load" gives the cost of loading libpq
 * and of a connection's start-up (mostly the server starting a backend).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef void *(*connect_fn)(const char *);
typedef int (*status_fn)(const void *);
typedef void (*finish_fn)(void *);
typedef void *(*exec_fn)(void *, const char *);
typedef int (*rstatus_fn)(const void *);
typedef void (*clear_fn)(void *);

int
main(int argc, char **argv)
{
	void *lib, *conn;
	connect_fn pq_connect;
	status_fn pq_status;
	finish_fn pq_finish;
	exec_fn pq_exec;
	rstatus_fn pq_rstatus;
	clear_fn pq_clear;
	int ok, run;

	run = argc == 4 && strcmp(argv[1], "exec") == 0;
	if (argc < 2 || (strcmp(argv[1], "load") != 0 && !run &&
			 (strcmp(argv[1], "connect") != 0 || argc != 3))) {
		fprintf(stderr, "usage: pq_start load | pq_start connect URL | "
			"pq_start exec URL SQL\n");
		return 2;
	}
	if (!(lib = dlopen("libpq.so.5", RTLD_LAZY | RTLD_LOCAL))) {
		fprintf(stderr, "pq_start: %s\n", dlerror());
		return 1;
	}
	if (strcmp(argv[1], "load") == 0)
		return 0;
	*(void **)&pq_connect = dlsym(lib, "PQconnectdb");
	*(void **)&pq_status = dlsym(lib, "PQstatus");
	*(void **)&pq_finish = dlsym(lib, "PQfinish");
	if (!pq_connect || !pq_status || !pq_finish) {
		fprintf(stderr, "pq_start: libpq lacks PQconnectdb\n");
		return 1;
	}
	*(void **)&pq_exec = dlsym(lib, "PQexec");
	*(void **)&pq_rstatus = dlsym(lib, "PQresultStatus");
	*(void **)&pq_clear = dlsym(lib, "PQclear");
	conn = pq_connect(argv[2]);
	ok = conn && pq_status(conn) == 0;	/* CONNECTION_OK */
	if (ok && run) {
		void *res = pq_exec(conn, argv[3]);
		int st = pq_rstatus(res);

		ok = st == 1 || st == 2;	/* COMMAND_OK, TUPLES_OK */
		pq_clear(res);
		if (!ok)
			fprintf(stderr, "pq_start: the statement failed\n");
	}
	pq_finish(conn);
	if (!ok)
		fprintf(stderr, "pq_start: cannot connect\n");
	return !ok;
}
