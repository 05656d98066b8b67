/* evt-tail - follow the store like tail -f */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-tail [--after POSITION | -n N] [--type TYPE]... [--count N] "
	"[--stream NAME]... [STREAM[,STREAM...]...]\n"
	"\n"
	"Print events as they are committed, forever: those committed after\n"
	"evt-tail started, or first the history after POSITION or the last N.\n"
	"A SQLite store that does not exist yet is waited for, not created.\n"
	"\n"
	"      --after POSITION      first print the events after POSITION\n"
	"  -n, --lines N             first print the last N events\n"
	"      --type TYPE           only events of TYPE (repeatable)\n"
	"      --count N             exit after printing N records\n"
	"      --stream NAME         the stream NAME exactly, even with a ',' in it\n"
	"                            (repeatable)\n"
	EVT_DASHDASH_USAGE
	EVT_DB_USAGE
	"      --bookmarks-table NAME  the bookmarks table it makes in a store\n"
	"                            without tables (it reads none)\n"
	EVT_HELP_USAGE
	EVT_EXIT_USAGE;

enum { OPT_AFTER = EVT_OPT_LOCAL, OPT_TYPE, OPT_COUNT, OPT_STREAM };

static const struct option options[] = {
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "lines", required_argument, NULL, 'n' },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "stream", required_argument, NULL, OPT_STREAM },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

struct tail {
	struct evt_out out;
	int64_t left;		/* records still to print; < 0: forever */
};

static int print_record(void *ctx, const struct evt_record *r)
{
	struct tail *t = ctx;

	evt_record_print(&t->out.b, r);
	if (evt_out_record(&t->out) < 0)
		return EVT_EFAIL;
	if (t->left > 0 && --t->left == 0)
		return -1;
	return 0;
}

static int oldest(void *ctx, const struct evt_record *r)
{
	*(int64_t *)ctx = r->position;
	return 0;
}

/* Where the last n matching records begin: the position before them. */
static int last_n(struct evt_store *st, const struct evt_query *q, int64_t n,
		  int64_t *after, struct evt_err *e)
{
	struct evt_query bq = *q;
	int64_t first = 0;
	int rc;

	*after = 0;
	if (n == 0)
		return evt_store_head(st, &bq, after, e);
	bq.last = 1;
	bq.limit = n;
	bq.after = 0;
	if ((rc = evt_store_read(st, &bq, oldest, &first, e)))
		return rc;
	*after = first ? first - 1 : 0;
	return 0;
}

/* The command line as read. */
struct cmdline {
	struct evt_store_opts so;
	struct evt_query q;
	const char **types;		/* q.types, owned */
	char **streams;			/* q.streams, owned, each too */
	int64_t after;			/* --after POSITION, or -1 */
	int64_t lines;			/* -n N, or -1 */
	int64_t count;			/* --count N, or -1 */
};

/* The option c (getopt_long's answer) into cl: EVT_CLI_NEXT to go on,
 * else the exit status to leave with. */
static int read_option(struct cmdline *cl, int c, int argc, char **argv)
{
	int rc;

	switch (c) {
	case OPT_AFTER:
		if (evt_parse_i64(optarg, 0, INT64_MAX, &cl->after) < 0)
			return evt_usage_error("invalid position '%s'%s",
					       optarg, EVT_WHOLE_0);
		return EVT_CLI_NEXT;
	case 'n':
		if (evt_parse_i64(optarg, 0, INT64_MAX, &cl->lines) < 0)
			return evt_usage_error("invalid number '%s'%s", optarg,
					       EVT_WHOLE_0);
		return EVT_CLI_NEXT;
	case OPT_COUNT:
		if (evt_parse_i64(optarg, 1, INT64_MAX, &cl->count) < 0)
			return evt_usage_error("invalid count '%s'%s", optarg,
					       EVT_WHOLE_1);
		return EVT_CLI_NEXT;
	case OPT_TYPE:
		return (rc = evt_cli_add_type(&cl->q, &cl->types, optarg)) ?
		       rc : EVT_CLI_NEXT;
	case OPT_STREAM:
		return (rc = evt_cli_add_stream(&cl->streams, &cl->q.nstreams,
						optarg)) ? rc : EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, &cl->so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* The operands, STREAM[,STREAM...]..., and how the options go together:
 * 0, or EVT_EUSAGE after a message. */
static int operands(struct cmdline *cl, int argc, char **argv)
{
	const char *why, *bad = NULL;
	int i;

	if (cl->after >= 0 && cl->lines >= 0)
		return evt_usage_error("--after and -n cannot be used "
				       "together");
	for (i = 0; i < argc; i++)
		if ((why = evt_split_streams(argv[i], &cl->streams,
					     &cl->q.nstreams, &bad)))
			return evt_usage_error("invalid stream '%s': %s", bad,
					       why);
	cl->q.streams = (const char *const *)cl->streams;
	return 0;
}

/* Where the printing starts: after --after POSITION; before the last N
 * records with -n N; at the end of the store (now) without either; at
 * its start for a store that evt-tail waited for, every event of which
 * came after it started. */
static int start_at(struct evt_store *st, const struct cmdline *cl,
		    int waited, int64_t *after, struct evt_err *e)
{
	struct evt_query all;

	if (cl->after >= 0) {
		*after = cl->after;
		return 0;
	}
	if (waited) {
		*after = 0;
		return 0;
	}
	if (cl->lines >= 0)
		return last_n(st, &cl->q, cl->lines, after, e);
	memset(&all, 0, sizeof(all));
	all.safe = 1;
	return evt_store_head(st, &all, after, e);
}

/* Wait for the store, then print its records as they come, until
 * SIGINT or SIGTERM, or --count. */
static int follow(struct cmdline *cl)
{
	static volatile sig_atomic_t stop;
	struct evt_store *st = NULL;
	struct evt_err e = { 0, "" };
	struct tail t;
	int64_t after;
	int rc, waited = 0;

	evt_follow_signals(&stop);
	evt_follow_output(1);
	t.left = cl->count;
	evt_out_init(&t.out, 1, EVT_OUT_LIVE);
	/* A store that does not exist yet: wait for it. */
	rc = evt_store_await(&cl->so, &stop, &waited, &e);
	if (!rc && !stop)
		rc = evt_store_open(&st, &cl->so, &e);
	if (!rc && st && !(rc = start_at(st, cl, waited, &after, &e))) {
		cl->q.after = after;
		rc = evt_follow(st, &cl->q, print_record, &t, &stop, &e);
	}
	evt_store_close(st);
	if (rc == EVT_EFAIL && t.out.err)
		rc = 0;
	if (rc) {
		evt_buf_release(&t.out.b);
		return evt_fail(&e);
	}
	if ((rc = evt_out_close(&t.out, &e)))
		return evt_fail(&e);
	return 0;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	size_t k;
	int c, rc = EVT_CLI_NEXT;

	evt_prog = "evt-tail";
	evt_cli_sigpipe();
	memset(&cl, 0, sizeof(cl));
	cl.so.write = 1;
	cl.q.limit = -1;
	cl.after = cl.lines = cl.count = -1;
	opterr = 0;
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(argc, argv, ":n:d:h", options, NULL)) != -1)
		rc = read_option(&cl, c, argc, argv);
	if (rc == EVT_CLI_NEXT &&
	    !(rc = operands(&cl, argc - optind, argv + optind)))
		rc = follow(&cl);
	for (k = 0; k < cl.q.nstreams; k++)
		free(cl.streams[k]);
	free(cl.streams);
	free(cl.types);
	return rc;
}
