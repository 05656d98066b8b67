/* evt-append - append events to an aggregate, atomically */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-append [-q] [-e VERSION] [--count N] [--key KEY] STREAM ID [EVENT ...]\n"
	"       evt-append [-q] [--count N] [--key KEY] --records\n"
	"\n"
	"Append the EVENT arguments or, with none, one event per line of stdin\n"
	"to the aggregate STREAM/ID, in one transaction, and print the stored\n"
	"records.\n"
	"\n"
	"  -e, --expect VERSION      the aggregate's version before the append:\n"
	"                            a number (0: no events), any (default) or exists\n"
	"      --records             stdin holds records as evt-read prints them\n"
	"      --count N             the input must hold exactly N events\n"
	"      --key KEY             idempotency: a KEY already used appends\n"
	"                            nothing and prints what it appended\n"
	"  -q, --quiet               print nothing\n"
	EVT_DASHDASH_USAGE
	EVT_COMMON_USAGE
	EVT_EXIT_USAGE
	EVT_EXIT_CONFLICT
	"  4  invalid input, named by its place (<stdin>:7), or a STREAM with\n"
	"     ','; nothing appended\n";

enum { OPT_RECORDS = EVT_OPT_LOCAL, OPT_COUNT, OPT_KEY };

static const struct option options[] = {
	{ "quiet", no_argument, NULL, 'q' },
	{ "expect", required_argument, NULL, 'e' },
	{ "records", no_argument, NULL, OPT_RECORDS },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "key", required_argument, NULL, OPT_KEY },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

static int parse_expect(const char *s, struct evt_appender *ap)
{
	if (strcmp(s, "any") == 0)
		ap->expect = EVT_EXPECT_ANY;
	else if (strcmp(s, "exists") == 0)
		ap->expect = EVT_EXPECT_EXISTS;
	else if (evt_parse_i64(s, 0, INT64_MAX, &ap->expect_version) == 0)
		ap->expect = EVT_EXPECT_VERSION;
	else
		return -1;
	return 0;
}

static int append_args(struct evt_appender *ap, char **argv, int argc,
		       struct evt_err *e)
{
	const char *stream = argv[0], *id = argv[1];
	struct evt_buf ev = EVT_BUF_INIT;
	struct evt_record r;
	int i, rc = 0;

	for (i = 2; i < argc && !rc; i++) {
		evt_buf_reset(&ev);
		rc = evt_event_parse(argv[i], strlen(argv[i]), &ev, e);
		if (rc) {
			evt_errprefix(e, rc, "argument %d", i + 1);
			break;
		}
		r = evt_record_of(stream, strlen(stream), id, strlen(id), ev.p,
				  ev.len);
		rc = evt_appender_add(ap, &r, NULL, e);
	}
	evt_buf_release(&ev);
	return rc;
}

/* The command line as read. */
struct cmdline {
	struct evt_store_opts so;
	const char *expect;		/* -e VERSION, or NULL */
	const char *key;		/* --key KEY, or NULL */
	int64_t count;			/* --count N, or -1 */
	int quiet, records;
};

/* The option c (getopt_long's answer) into cl: EVT_CLI_NEXT to go on,
 * else the exit status to leave with. */
static int read_option(struct cmdline *cl, int c, int argc, char **argv)
{
	int rc;

	switch (c) {
	case 'q': cl->quiet = 1; return EVT_CLI_NEXT;
	case 'e': cl->expect = optarg; return EVT_CLI_NEXT;
	case OPT_RECORDS: cl->records = 1; return EVT_CLI_NEXT;
	case OPT_COUNT:
		if (evt_parse_i64(optarg, 0, INT64_MAX, &cl->count) < 0)
			return evt_usage_error("invalid count '%s'"
					       EVT_WHOLE_0, optarg);
		return EVT_CLI_NEXT;
	case OPT_KEY:
		return evt_cli_key(optarg, &cl->key) ? EVT_EUSAGE :
							 EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, &cl->so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* The operands, STREAM ID [EVENT ...] or none with --records: 0, or the
 * exit status after a message. */
static int operands(const struct cmdline *cl, int argc, char **argv)
{
	const char *why;
	int rc;

	if (cl->records && (argc || cl->expect))
		return evt_usage_error(argc ? "--records takes no arguments" :
				       "--records cannot be used with "
				       "--expect");
	if (cl->records)
		return 0;
	if (argc < 2)
		return evt_usage_error("expected STREAM and ID (see "
				       "evt-append --help)");
	if ((rc = evt_cli_write_stream(argv[0])))
		return rc;
	if ((why = evt_name_check(argv[1], strlen(argv[1]))))
		return evt_usage_error("invalid aggregate id '%s': %s", argv[1],
				       why);
	return 0;
}

/* Append the EVENT arguments, or the lines of stdin, in one transaction,
 * and print the stored records. */
static int append(const struct cmdline *cl, int argc, char **argv)
{
	struct evt_appender ap;
	struct evt_lines in;
	struct evt_out out;
	struct evt_err e = { 0, "" };
	int rc;

	evt_appender_init(&ap, &cl->so, cl->quiet);
	ap.key = cl->key;
	if (cl->expect && parse_expect(cl->expect, &ap) < 0) {
		evt_appender_release(&ap);
		return evt_usage_error("invalid --expect '%s': use a number, "
				       "'any' or 'exists'", cl->expect);
	}
	evt_out_init(&out, 1, EVT_OUT_BLOCK);
	if (argc > 2) {
		rc = append_args(&ap, argv, argc, &e);
	} else {
		evt_lines_init(&in, 0, "<stdin>");
		rc = evt_append_lines(&ap, &in, cl->records ? NULL : argv[0],
				      cl->records ? NULL : argv[1], &e);
		evt_lines_release(&in);
	}
	if (!rc && cl->count >= 0 && !ap.replay &&
	    (int64_t)ap.count != cl->count)
		rc = evt_errf(&e, EVT_EINPUT, "%s: %zu event%s, expected %lld "
			      "(--count)", argc > 2 ? "arguments" : "<stdin>",
			      ap.count, ap.count == 1 ? "" : "s",
			      (long long)cl->count);
	if (!rc)
		rc = evt_appender_commit(&ap, &out, &e);
	evt_appender_release(&ap);
	if (!rc)
		rc = evt_out_close(&out, &e);
	else
		evt_buf_release(&out.b);
	return rc ? evt_fail(&e) : 0;
}

int main(int argc, char **argv)
{
	struct cmdline cl = {
		.so = { .write = 1, .create = 1, .relaxed = 0 },
		.count = -1,
	};
	int c, rc = EVT_CLI_NEXT;

	evt_prog = "evt-append";
	evt_cli_sigpipe();
	opterr = 0;
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(argc, argv, ":qe:d:h", options, NULL)) != -1)
		rc = read_option(&cl, c, argc, argv);
	if (rc != EVT_CLI_NEXT)
		return rc;
	argc -= optind;
	argv += optind;
	if ((rc = operands(&cl, argc, argv)))
		return rc;
	return append(&cl, argc, argv);
}
