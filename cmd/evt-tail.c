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
	"\n"
	"      --after POSITION      first print the events after POSITION\n"
	"  -n, --lines N             first print the last N events\n"
	"      --type TYPE           only events of TYPE (repeatable)\n"
	"      --count N             exit after printing N records\n"
	"      --stream NAME         the stream NAME exactly, even with a ',' in it\n"
	"                            (repeatable)\n"
	EVT_STORE_USAGE
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

int main(int argc, char **argv)
{
	static volatile sig_atomic_t stop;
	struct evt_store_opts so = { .write = 1, .relaxed = 0 };
	struct evt_store *st = NULL;
	struct evt_query q;
	struct evt_err e = { 0, "" };
	struct tail t;
	const char **types = NULL, *why, *bad = NULL;
	char **streams = NULL;
	int64_t after = -1, lines = -1, head;
	size_t k;
	int c, i, rc, waited = 0;

	evt_prog = "evt-tail";
	evt_cli_sigpipe();
	memset(&q, 0, sizeof(q));
	q.limit = -1;
	t.left = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:d:h", options, NULL)) != -1) {
		switch (c) {
		case OPT_AFTER:
			if (evt_parse_i64(optarg, 0, INT64_MAX, &after) < 0) {
				rc = evt_usage_error("invalid position '%s'%s",
						     optarg, EVT_WHOLE_0);
				goto done;
			}
			break;
		case 'n':
			if (evt_parse_i64(optarg, 0, INT64_MAX, &lines) < 0) {
				rc = evt_usage_error("invalid number '%s'%s",
						     optarg, EVT_WHOLE_0);
				goto done;
			}
			break;
		case OPT_COUNT:
			if (evt_parse_i64(optarg, 1, INT64_MAX, &t.left) < 0) {
				rc = evt_usage_error("invalid count '%s'%s",
						     optarg, EVT_WHOLE_1);
				goto done;
			}
			break;
		case OPT_TYPE:
			if ((rc = evt_cli_add_type(&q, &types, optarg)))
				goto done;
			break;
		case OPT_STREAM:
			if ((rc = evt_cli_add_stream(&streams, &q.nstreams,
						     optarg)))
				goto done;
			break;
		default:
			if ((rc = evt_cli_common(c, argc, argv, &so, usage)) != -2) {
				rc = rc < 0 ? EVT_EUSAGE : rc;
				goto done;
			}
		}
	}
	rc = 0;
	if (after >= 0 && lines >= 0)
		rc = evt_usage_error("--after and -n cannot be used together");
	for (i = optind; !rc && i < argc; i++)
		if ((why = evt_split_streams(argv[i], &streams, &q.nstreams,
					     &bad)))
			rc = evt_usage_error("invalid stream '%s': %s", bad,
					     why);
	q.streams = (const char *const *)streams;
	if (rc)
		goto done;
	evt_follow_signals(&stop);
	evt_follow_output(1);
	evt_out_init(&t.out, 1, EVT_OUT_LIVE);
	/* A store that does not exist yet: wait for it.  Every event in
	 * it then came after we started, so all of them are printed. */
	rc = evt_store_await(&so, &stop, &waited, &e);
	if (!rc && !stop)
		rc = evt_store_open(&st, &so, &e);
	if (!rc && st) {
		if (after >= 0)
			q.after = after;
		else if (waited)
			q.after = 0;
		else if (lines >= 0)
			rc = last_n(st, &q, lines, &q.after, &e);
		else {
			struct evt_query all;

			memset(&all, 0, sizeof(all));
			all.safe = 1;
			rc = evt_store_head(st, &all, &head, &e);
			q.after = head;
		}
	}
	if (!rc && st)
		rc = evt_follow(st, &q, print_record, &t, &stop, &e);
	evt_store_close(st);
	if (rc == EVT_EFAIL && t.out.err)
		rc = 0;
	if (rc) {
		evt_buf_release(&t.out.b);
		rc = evt_fail(&e);
	} else if ((rc = evt_out_close(&t.out, &e))) {
		rc = evt_fail(&e);
	}
done:
	for (k = 0; k < q.nstreams; k++)
		free(streams[k]);
	free(streams);
	free(types);
	return rc;
}
