/* evt-read - print stored events as NDJSON */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-read [-n LIMIT] [--after POSITION] [--type TYPE]... "
	"[STREAM[,STREAM...] [ID]]\n"
	"       evt-read --last [STREAM[,STREAM...] [ID]]\n"
	"       evt-read --head [STREAM[,STREAM...] [ID]]\n"
	"       evt-read [OPTIONS] --stream NAME... [ID]\n"
	"       evt-read --streams\n"
	"       evt-read --aggregates STREAM\n"
	"\n"
	"Print stored events as NDJSON records: every event in position order,\n"
	"the events of the STREAMs in position order, or the aggregate\n"
	"STREAM/ID in version order.\n"
	"\n"
	"  -n, --limit LIMIT         print at most LIMIT records\n"
	"      --after POSITION      only positions greater than POSITION, the\n"
	"                            resumable form: on a server it stops before\n"
	"                            a position a running transaction may still\n"
	"                            commit (evt(7), Ordering and gaps)\n"
	"      --type TYPE           only events of TYPE (repeatable)\n"
	"      --stream NAME         the stream NAME exactly, even with a ',' in it\n"
	"                            (repeatable; in place of STREAM)\n"
	"      --last                only the newest matching record\n"
	"      --head                print the greatest matching position (0: none)\n"
	"      --streams             one line per stream: events, aggregates and\n"
	"                            its newest position\n"
	"      --aggregates STREAM   one line per aggregate of STREAM: its version\n"
	"                            and newest position\n"
	EVT_DASHDASH_USAGE
	EVT_STORE_USAGE
	EVT_EXIT_USAGE;

enum { OPT_AFTER = EVT_OPT_LOCAL, OPT_TYPE, OPT_LAST, OPT_HEAD, OPT_STREAM,
       OPT_STREAMS, OPT_AGGREGATES };

static const struct option options[] = {
	{ "limit", required_argument, NULL, 'n' },
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "last", no_argument, NULL, OPT_LAST },
	{ "head", no_argument, NULL, OPT_HEAD },
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "streams", no_argument, NULL, OPT_STREAMS },
	{ "aggregates", required_argument, NULL, OPT_AGGREGATES },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

static int print_record(void *ctx, const struct evt_record *r)
{
	struct evt_out *out = ctx;

	evt_record_print(&out->b, r);
	return evt_out_record(out) < 0 ? EVT_EFAIL : 0;
}

/* A line of --streams or --aggregates. */
static int print_summary(void *ctx, const struct evt_summary *m)
{
	struct evt_out *out = ctx;
	struct evt_buf *b = &out->b;

	evt_buf_addstr(b, "{\"stream\":");
	evt_json_quote(b, m->stream, m->stream_len);
	if (m->id) {
		evt_buf_addstr(b, ",\"aggregateId\":");
		evt_json_quote(b, m->id, m->id_len);
		evt_buf_addstr(b, ",\"version\":");
		evt_buf_addi64(b, m->version);
	} else {
		evt_buf_addstr(b, ",\"events\":");
		evt_buf_addi64(b, m->events);
		evt_buf_addstr(b, ",\"aggregates\":");
		evt_buf_addi64(b, m->aggregates);
	}
	evt_buf_addstr(b, ",\"position\":");
	evt_buf_addi64(b, m->position);
	evt_buf_addstr(b, "}\n");
	return evt_out_record(out) < 0 ? EVT_EFAIL : 0;
}

/* The command line as read. */
struct cmdline {
	struct evt_store_opts so;
	struct evt_query q;
	const char **types;		/* q.types, owned */
	char **streams;			/* q.streams, owned, each too */
	const char *aggs;		/* --aggregates STREAM, or NULL */
	int head;			/* --head */
	int list;			/* --streams */
	int named;			/* streams given by --stream */
};

/* The option c (getopt_long's answer) into cl: EVT_CLI_NEXT to go on,
 * else the exit status to leave with. */
static int read_option(struct cmdline *cl, int c, int argc, char **argv)
{
	const char *why;
	int rc;

	switch (c) {
	case 'n':
		if (evt_parse_i64(optarg, 0, INT64_MAX, &cl->q.limit) < 0)
			return evt_usage_error("invalid limit '%s'%s", optarg,
					       EVT_WHOLE_0);
		return EVT_CLI_NEXT;
	case OPT_AFTER:
		if (evt_parse_i64(optarg, 0, INT64_MAX, &cl->q.after) < 0)
			return evt_usage_error("invalid position '%s'%s",
					       optarg, EVT_WHOLE_0);
		cl->q.safe = 1;	/* the resumable form: gap-safe */
		return EVT_CLI_NEXT;
	case OPT_TYPE:
		return (rc = evt_cli_add_type(&cl->q, &cl->types, optarg)) ?
		       rc : EVT_CLI_NEXT;
	case OPT_STREAM:
		cl->named = 1;
		return (rc = evt_cli_add_stream(&cl->streams, &cl->q.nstreams,
						optarg)) ? rc : EVT_CLI_NEXT;
	case OPT_AGGREGATES:
		if ((why = evt_name_check(optarg, strlen(optarg))))
			return evt_usage_error("invalid stream '%s': %s",
					       optarg, why);
		cl->aggs = optarg;
		return EVT_CLI_NEXT;
	case OPT_LAST: cl->q.last = 1; return EVT_CLI_NEXT;
	case OPT_HEAD: cl->head = 1; return EVT_CLI_NEXT;
	case OPT_STREAMS: cl->list = 1; return EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, &cl->so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* The operands, [STREAM[,...] [ID]] (with --stream, [ID]), and how they
 * and the options go together: 0, or EVT_EUSAGE after a message. */
static int operands(struct cmdline *cl, int argc, char **argv)
{
	struct evt_query *q = &cl->q;
	const char *why, *bad = NULL, *id;
	int other;

	id = argc == 2 - cl->named ? argv[argc - 1] : NULL;
	other = cl->head || q->last || q->types || q->safe || q->limit >= 0 ||
		argc || cl->named;
	if (cl->list && cl->aggs)
		return evt_usage_error("--streams and --aggregates cannot be "
				       "used together");
	if ((cl->list || cl->aggs) && other)
		return evt_usage_error("%s takes no other option or argument",
				       cl->list ? "--streams" :
						  "--aggregates");
	if (cl->head && q->last)
		return evt_usage_error("--head and --last cannot be used "
				       "together");
	if (argc > 2 - cl->named)
		return evt_usage_error("too many arguments (see evt-read "
				       "--help)");
	if (!cl->named && argc >= 1 &&
	    (why = evt_split_streams(argv[0], &cl->streams, &q->nstreams,
				     &bad)))
		return evt_usage_error("invalid stream '%s': %s", bad, why);
	if (id && (why = evt_name_check(id, strlen(id))))
		return evt_usage_error("invalid aggregate id '%s': %s", id,
				       why);
	q->streams = (const char *const *)cl->streams;
	q->id = id;
	if (q->last)
		q->limit = q->limit == 0 ? 0 : 1;
	if (q->last || cl->head)
		q->safe = 0;	/* not a resumable read */
	return 0;
}

/* Print what was asked: the head position, the summary lines, or the
 * records. */
static int print(struct cmdline *cl)
{
	struct evt_store *st = NULL;
	struct evt_out out;
	struct evt_err e = { 0, "" };
	int64_t pos;
	int rc;

	evt_out_init(&out, 1, EVT_OUT_AUTO);
	rc = evt_store_open(&st, &cl->so, &e);
	if (!rc && cl->head) {
		rc = evt_store_head(st, &cl->q, &pos, &e);
		if (!rc) {
			evt_buf_addi64(&out.b, pos);
			evt_buf_addc(&out.b, '\n');
		}
	} else if (!rc && (cl->list || cl->aggs)) {
		rc = evt_store_summary(st, cl->aggs, print_summary, &out, &e);
	} else if (!rc) {
		rc = evt_store_read(st, &cl->q, print_record, &out, &e);
	}
	evt_store_close(st);
	if (rc == EVT_EFAIL && out.err)
		rc = 0;		/* the write error is reported below */
	if (rc) {
		evt_buf_release(&out.b);
		return evt_fail(&e);
	}
	if ((rc = evt_out_close(&out, &e)))
		return evt_fail(&e);
	return 0;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	size_t i;
	int c, rc = EVT_CLI_NEXT;

	evt_prog = "evt-read";
	evt_cli_sigpipe();
	memset(&cl, 0, sizeof(cl));
	cl.q.limit = -1;
	opterr = 0;
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(argc, argv, ":n:d:h", options, NULL)) != -1)
		rc = read_option(&cl, c, argc, argv);
	if (rc == EVT_CLI_NEXT &&
	    !(rc = operands(&cl, argc - optind, argv + optind)))
		rc = print(&cl);
	for (i = 0; i < cl.q.nstreams; i++)
		free(cl.streams[i]);
	free(cl.streams);
	free(cl.types);
	return rc;
}
