/* evt-fold - fold an aggregate's events into its current state */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-fold [REDUCER] [--init JSON] [--persist KEY] [--scan] "
	"STREAM ID\n"
	"       evt-fold [REDUCER] [--init JSON] [--scan] --all STREAM\n"
	"       evt-fold [REDUCER] [--init JSON] [--scan]     "
	"(records on stdin)\n"
	"REDUCER: --jq PROGRAM | --jq-file FILE | --exec COMMAND  "
	"(default: merge)\n"
	"\n"
	"Fold the events of the aggregate STREAM/ID, of every aggregate of\n"
	"STREAM, or of the records on stdin, and print each aggregate as one\n"
	"line: {...state, \"aggregateId\": ID, \"version\": N}.\n"
	"\n"
	"      --jq PROGRAM          patch = jq PROGRAM on the event, with $agg\n"
	"                            (the aggregate) and $meta (the record)\n"
	"      --jq-file FILE        the same, the program read from FILE\n"
	"      --exec COMMAND        patch = the line COMMAND answers to each\n"
	"                            {\"event\",\"aggregate\",\"meta\"} line\n"
	"                            (one /bin/sh -c COMMAND for the whole fold)\n"
	"                            default: the event less \"type\"\n"
	"      --init JSON           the aggregate before any event (default {})\n"
	"      --persist KEY         keep a snapshot under KEY and resume from it\n"
	"      --timeout SECONDS     stop the --exec COMMAND after SECONDS\n"
	"                            (SIGTERM, then SIGKILL 5 s later): exit 5\n"
	"      --all STREAM          every aggregate of STREAM\n"
	"      --scan                print the aggregate after every event\n"
	EVT_DASHDASH_USAGE
	EVT_STORE_USAGE
	EVT_EXIT_USAGE
	"  4  invalid input: a record, a stored event or a reducer answer\n"
	"  5  the --exec reducer failed or passed --timeout\n";

enum { OPT_ALL = EVT_OPT_LOCAL, OPT_SCAN };

static const struct option options[] = {
	EVT_FOLD_OPTIONS,
	{ "all", required_argument, NULL, OPT_ALL },
	{ "scan", no_argument, NULL, OPT_SCAN },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

static int print_agg(void *ctx, struct evt_agg *a)
{
	struct evt_out *out = ctx;

	evt_agg_print(a, &out->b);
	evt_buf_addc(&out->b, '\n');
	return evt_out_record(out) < 0 ? EVT_EFAIL : 0;
}

struct run {
	struct evt_store_opts so;
	struct evt_fold f;
	struct evt_out out;
	const char *all, *stream, *id, *persist;
	struct evt_fold_opts fo;
	int scan;
};

/* Fold what the arguments name; the aggregates end up printed to
 * r->out. */
static int run(struct run *r, struct evt_err *e)
{
	struct evt_store *st = NULL;
	struct evt_lines in;
	struct evt_agg a;
	size_t i;
	int rc;

	if (r->scan) {
		r->f.each = print_agg;
		r->f.each_ctx = &r->out;
	}
	if (!r->stream && !r->all) {
		evt_lines_init(&in, 0, "<stdin>");
		rc = evt_fold_lines(&r->f, &in, e);
		evt_lines_release(&in);
	} else if ((rc = evt_store_open(&st, &r->so, e))) {
		return rc;
	} else if (r->all) {
		rc = evt_fold_stream(&r->f, st, r->all, e);
	} else {
		evt_fold_start(&r->f, &a, r->stream, strlen(r->stream), r->id,
			       strlen(r->id));
		if (r->persist)
			rc = evt_fold_snapshot(&r->f, st, &a, r->persist, e);
		if (!rc)
			rc = evt_fold_catch_up(&r->f, st, &a, -1, e);
		if (!rc)
			rc = evt_reducer_finish(r->f.r, e);
		if (!rc && r->persist)
			evt_fold_save(&r->f, st, &a, r->persist);
		if (!rc && !r->scan) {
			evt_fold_sync(&r->f, &a);
			rc = print_agg(&r->out, &a);
		}
		evt_fold_drop(&r->f, &a);
		evt_store_close(st);
		return rc;
	}
	evt_store_close(st);
	if (!rc)
		rc = evt_reducer_finish(r->f.r, e);
	for (i = 0; !rc && !r->scan && i < r->f.naggs; i++) {
		evt_fold_sync(&r->f, r->f.aggs[i]);
		rc = print_agg(&r->out, r->f.aggs[i]);
	}
	return rc;
}

/* The option c (getopt_long's answer) into r: EVT_CLI_NEXT to go on,
 * else the exit status to leave with. */
static int read_option(struct run *r, int c, int argc, char **argv)
{
	int rc;

	if ((rc = evt_cli_fold_opt(&r->fo, c, optarg)))
		return rc == EVT_EUSAGE ? rc : EVT_CLI_NEXT;
	switch (c) {
	case OPT_ALL: r->all = optarg; return EVT_CLI_NEXT;
	case OPT_SCAN: r->scan = 1; return EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, &r->so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* The operands, [STREAM ID], and how they and the options go together:
 * 0, or EVT_EUSAGE after a message. */
static int operands(struct run *r, int argc, char **argv)
{
	const char *why;

	if (r->fo.reducers > 1)
		return evt_usage_error("use one reducer: --jq, --jq-file or "
				       "--exec");
	if (r->fo.timeout_ms && !r->fo.exec)
		return evt_usage_error("--timeout works with --exec only");
	if (r->all && argc)
		return evt_usage_error("--all takes no STREAM ID arguments");
	if (argc == 1)
		return evt_usage_error("expected STREAM and ID (see evt-fold "
				       "--help)");
	if (argc > 2)
		return evt_usage_error("too many arguments (see evt-fold "
				       "--help)");
	if (r->persist && argc != 2)
		return evt_usage_error("--persist needs STREAM and ID");
	if (r->persist && r->scan)
		return evt_usage_error("--persist and --scan cannot be used "
				       "together");
	if (r->persist && (!*r->persist || strlen(r->persist) > EVT_NAME_MAX))
		return evt_usage_error("invalid --persist key '%s': %s",
				       r->persist, *r->persist ? "longer than "
				       "255 bytes" : "is empty");
	if (r->all && (why = evt_name_check(r->all, strlen(r->all))))
		return evt_usage_error("invalid stream '%s': %s", r->all, why);
	if (argc < 2)
		return 0;
	if ((why = evt_name_check(argv[0], strlen(argv[0]))))
		return evt_usage_error("invalid stream '%s': %s", argv[0],
				       why);
	if ((why = evt_name_check(argv[1], strlen(argv[1]))))
		return evt_usage_error("invalid aggregate id '%s': %s",
				       argv[1], why);
	r->stream = argv[0];
	r->id = argv[1];
	return 0;
}

int main(int argc, char **argv)
{
	struct run r;
	struct evt_reducer *red = NULL;
	struct evt_err e = { 0, "" };
	int c, rc = EVT_CLI_NEXT;

	evt_prog = "evt-fold";
	evt_cli_sigpipe();
	memset(&r, 0, sizeof(r));
	opterr = 0;
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(argc, argv, ":d:h", options, NULL)) != -1)
		rc = read_option(&r, c, argc, argv);
	if (rc != EVT_CLI_NEXT)
		return rc;
	r.persist = r.fo.persist;
	if ((rc = operands(&r, argc - optind, argv + optind)) ||
	    (rc = evt_cli_reducer(&r.fo, &red)))
		return rc;
	if ((rc = evt_fold_init(&r.f, red, r.fo.init, &e))) {
		evt_fold_release(&r.f);
		evt_reducer_free(red);
		return evt_fail(&e);
	}
	r.f.warn = evt_warn_msg;
	/* Only snapshots are written: losing one to a power failure costs a
	 * refold, so they need no durable commit. */
	r.so.relaxed = 1;
	evt_out_init(&r.out, 1, EVT_OUT_AUTO);
	rc = run(&r, &e);
	evt_fold_release(&r.f);
	evt_reducer_free(red);
	if (rc == EVT_EFAIL && r.out.err)
		rc = 0;		/* the write error is reported below */
	if (rc) {
		evt_buf_release(&r.out.b);
		return evt_fail(&e);
	}
	if (evt_out_close(&r.out, &e))
		return evt_fail(&e);
	return 0;
}
