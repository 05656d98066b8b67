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
	"      --after POSITION      only positions greater than POSITION\n"
	"      --type TYPE           only events of TYPE (repeatable)\n"
	"      --stream NAME         the stream NAME exactly, even with a ',' in it\n"
	"                            (repeatable; in place of STREAM)\n"
	"      --last                only the newest matching record\n"
	"      --head                print the greatest matching position (0: none)\n"
	"      --streams             one line per stream: events, aggregates and\n"
	"                            its newest position\n"
	"      --aggregates STREAM   one line per aggregate of STREAM: its version\n"
	"                            and newest position\n"
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

int main(int argc, char **argv)
{
	struct evt_store_opts so = { .write = 0, .relaxed = 0 };
	struct evt_query q;
	struct evt_store *st = NULL;
	struct evt_out out;
	struct evt_err e = { 0, "" };
	const char **types = NULL, *why, *bad = NULL;
	char **streams = NULL, *id;
	size_t i;
	const char *aggs = NULL;
	int head = 0, named = 0, list = 0, other = 0, c, rc;

	evt_prog = "evt-read";
	evt_cli_sigpipe();
	memset(&q, 0, sizeof(q));
	q.limit = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:d:h", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (evt_parse_i64(optarg, 0, INT64_MAX, &q.limit) < 0) {
				rc = evt_usage_error("invalid limit '%s'%s",
						     optarg, EVT_WHOLE_0);
				goto done;
			}
			break;
		case OPT_AFTER:
			if (evt_parse_i64(optarg, 0, INT64_MAX, &q.after) < 0) {
				rc = evt_usage_error("invalid position '%s'%s",
						     optarg, EVT_WHOLE_0);
				goto done;
			}
			q.safe = 1;	/* the resumable form: gap-safe */
			break;
		case OPT_TYPE:
			if ((rc = evt_cli_add_type(&q, &types, optarg)))
				goto done;
			break;
		case OPT_LAST:
			q.last = 1;
			break;
		case OPT_HEAD:
			head = 1;
			break;
		case OPT_STREAM:
			if ((rc = evt_cli_add_stream(&streams, &q.nstreams,
						     optarg)))
				goto done;
			named = 1;
			break;
		case OPT_STREAMS:
			list = 1;
			break;
		case OPT_AGGREGATES:
			if ((why = evt_name_check(optarg, strlen(optarg)))) {
				rc = evt_usage_error("invalid stream '%s': %s",
						     optarg, why);
				goto done;
			}
			aggs = optarg;
			break;
		default:
			if ((rc = evt_cli_common(c, argc, argv, &so, usage)) != -2) {
				rc = rc < 0 ? EVT_EUSAGE : rc;
				goto done;
			}
		}
	}
	argc -= optind;
	argv += optind;
	rc = 0;
	/* With --stream, the arguments are [ID]; else [STREAM[,...] [ID]]. */
	id = argc == 2 - named ? argv[argc - 1] : NULL;
	other = head || q.last || q.types || q.safe || q.limit >= 0 || argc ||
		named;
	if (list && aggs)
		rc = evt_usage_error("--streams and --aggregates cannot be used "
				     "together");
	else if ((list || aggs) && other)
		rc = evt_usage_error("%s takes no other option or argument",
				     list ? "--streams" : "--aggregates");
	else if (head && q.last)
		rc = evt_usage_error("--head and --last cannot be used together");
	else if (argc > 2 - named)
		rc = evt_usage_error("too many arguments (see evt-read --help)");
	else if (!named && argc >= 1 &&
		 (why = evt_split_streams(argv[0], &streams, &q.nstreams,
					  &bad)))
		rc = evt_usage_error("invalid stream '%s': %s", bad, why);
	else if (id && (why = evt_name_check(id, strlen(id))))
		rc = evt_usage_error("invalid aggregate id '%s': %s", id, why);
	q.streams = (const char *const *)streams;
	if (rc)
		goto done;
	q.id = id;
	if (q.last)
		q.limit = q.limit == 0 ? 0 : 1;
	if (q.last || head)
		q.safe = 0;	/* not a resumable read */
	evt_out_init(&out, 1, EVT_OUT_AUTO);
	rc = evt_store_open(&st, &so, &e);
	if (!rc && head) {
		int64_t pos;

		rc = evt_store_head(st, &q, &pos, &e);
		if (!rc) {
			evt_buf_addi64(&out.b, pos);
			evt_buf_addc(&out.b, '\n');
		}
	} else if (!rc && (list || aggs)) {
		rc = evt_store_summary(st, aggs, print_summary, &out, &e);
	} else if (!rc) {
		rc = evt_store_read(st, &q, print_record, &out, &e);
	}
	evt_store_close(st);
	if (rc == EVT_EFAIL && out.err)
		rc = 0;		/* the write error is reported below */
	if (rc) {
		evt_buf_release(&out.b);
		rc = evt_fail(&e);
	} else if ((rc = evt_out_close(&out, &e))) {
		rc = evt_fail(&e);
	}
done:
	for (i = 0; i < q.nstreams; i++)
		free(streams[i]);
	free(streams);
	free(types);
	return rc;
}
