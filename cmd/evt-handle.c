/* evt-handle - run an external program per event, with a durable bookmark */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-handle [OPTIONS] NAME STREAM[,STREAM...] "
	"[--on [STREAM:]TYPE=COMMAND]... [-- PROGRAM [ARG...]]\n"
	"       evt-handle [OPTIONS] --stream STREAM... NAME "
	"[--on ...]... [-- PROGRAM [ARG...]]\n"
	"       evt-handle [OPTIONS] -- NAME STREAM[,STREAM...] "
	"[-- PROGRAM [ARG...]]\n"
	"       evt-handle --status [NAME...]\n"
	"       evt-handle --reset NAME [POSITION]\n"
	"       evt-handle --parked NAME\n"
	"       evt-handle --drop NAME\n"
	"\n"
	"Run a program for each event of the STREAMs after the bookmark NAME,\n"
	"one at a time in position order, moving the bookmark past each event\n"
	"its program handled (exit 0).  The program gets the record on stdin.\n"
	"A '--' before NAME ends the options (for names that begin with '-');\n"
	"a second '--' starts PROGRAM.\n"
	"\n"
	"      --on [STREAM:]TYPE=COMMAND  run COMMAND (by /bin/sh -c) for TYPE\n"
	"      --stream STREAM       the stream STREAM exactly, even with a ',' in\n"
	"                            it (repeatable; in place of STREAM[,...])\n"
	"      --retries N           retry a failed program N times (default 0)\n"
	"      --retry-delay MS      first retry delay, doubling (default 200)\n"
	"      --timeout SECONDS     stop a program after SECONDS (SIGTERM, then\n"
	"                            SIGKILL 5 s later): a failure\n"
	"      --continue-on-error   park a failed event and go on\n"
	"      --retry-parked        first run the parked events again, one at\n"
	"                            a time; each handled one is unparked\n"
	"      --tail                with no bookmark, start at the end and\n"
	"                            write it as the bookmark\n"
	"      --always-tail         start at the end every time (with --follow)\n"
	"      --follow              keep waiting for new events\n"
	"      --batch N             up to N records per run of PROGRAM\n"
	"      --wait                wait while another process runs NAME\n"
	"      --group I/N           be member I of N sharing NAME: handle the\n"
	"                            aggregates that hash to I (bookmark NAME[I/N])\n"
	"      --status              print the handlers, their streams and lag\n"
	"      --reset               set the bookmark NAME (default 0)\n"
	"      --parked              print the parked events of NAME\n"
	"      --drop                delete the bookmark, parked events and\n"
	"                            streams of NAME\n"
	EVT_COMMON_USAGE
	EVT_EXIT_USAGE
	"  5  a program failed (without --continue-on-error)\n"
	"  6  busy: another process holds NAME\n";

enum {
	OPT_ON = EVT_OPT_LOCAL, OPT_RETRIES, OPT_RETRY_DELAY, OPT_TIMEOUT,
	OPT_CONTINUE, OPT_TAIL, OPT_ALWAYS_TAIL, OPT_FOLLOW, OPT_BATCH,
	OPT_WAIT, OPT_STATUS, OPT_RESET, OPT_STREAM, OPT_PARKED, OPT_DROP,
	OPT_RETRY_PARKED, OPT_GROUP
};

static const struct option options[] = {
	{ "on", required_argument, NULL, OPT_ON },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "continue-on-error", no_argument, NULL, OPT_CONTINUE },
	{ "tail", no_argument, NULL, OPT_TAIL },
	{ "always-tail", no_argument, NULL, OPT_ALWAYS_TAIL },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "status", no_argument, NULL, OPT_STATUS },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "parked", no_argument, NULL, OPT_PARKED },
	{ "drop", no_argument, NULL, OPT_DROP },
	{ "retry-parked", no_argument, NULL, OPT_RETRY_PARKED },
	{ "group", required_argument, NULL, OPT_GROUP },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

static const char *handler_name;

static void warn_cb(const char *msg)
{
	evt_warn("%s", msg);
}

static void progress_cb(int64_t pos, int64_t head, int done)
{
	if (done)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\r\033[Kevt-handle: %s: position %lld of %lld",
			handler_name, (long long)pos, (long long)head);
}

static int parse_int(const char *s, int64_t min, int *out)
{
	int64_t v;

	if (evt_parse_i64(s, min, INT_MAX, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int status(struct evt_store_opts *so, char **names, int n)
{
	struct evt_store *st;
	struct evt_err e = { 0, "" };
	struct evt_buf out = EVT_BUF_INIT;
	int rc;

	so->write = 0;	/* a look: a missing store is an error */
	if ((rc = evt_store_open(&st, so, &e)))
		return evt_fail(&e);
	rc = evt_handle_status(st, names, (size_t)n, &out, &e);
	evt_store_close(st);
	if (!rc && out.len)
		fwrite(out.p, 1, out.len, stdout);
	evt_buf_release(&out);
	if (rc)
		return evt_fail(&e);
	return evt_flush_stdout();
}

/* --reset NAME [POSITION] (pos >= 0) and --drop NAME (pos < 0): done under
 * NAME's lock (exit 6 while it runs), then what changed is printed. */
static int change(struct evt_store_opts *so, const char *name, int64_t pos)
{
	struct evt_store *st;
	struct evt_err e = { 0, "" };
	struct evt_buf out = EVT_BUF_INIT;
	int rc;

	char **mv = NULL;
	size_t mn = 0, i, locked = 0;

	if ((rc = evt_store_open(&st, so, &e)))
		return evt_fail(&e);
	/* --drop of a group NAME drops every member, none while one runs */
	if (pos < 0 && !(rc = evt_handle_members(st, name, &mv, &mn, &e)) &&
	    mn) {
		for (; locked < mn && !rc; locked++)
			rc = evt_store_lock(st, mv[locked], 0, &e);
		if (rc)
			locked--;
		for (i = 0; i < mn && !rc; i++)
			rc = evt_handle_drop(st, mv[i], &out, &e);
		for (i = 0; i < locked; i++)
			evt_store_unlock(st, mv[i]);
	} else if (!rc) {
		rc = evt_store_lock(st, name, 0, &e);
		if (!rc) {
			rc = pos >= 0 ? evt_handle_reset(st, name, pos, &out,
							 &e) :
					evt_handle_drop(st, name, &out, &e);
			evt_store_unlock(st, name);
		}
	}
	for (i = 0; i < mn; i++)
		free(mv[i]);
	free(mv);
	evt_store_close(st);
	if (!rc)
		fwrite(out.p, 1, out.len, stdout);
	evt_buf_release(&out);
	if (rc)
		return evt_fail(&e);
	return evt_flush_stdout();
}

static int reset(struct evt_store_opts *so, char **argv, int argc)
{
	int64_t pos = 0;

	if (argc < 1 || argc > 2)
		return evt_usage_error("--reset takes NAME [POSITION]");
	if (argc == 2 && evt_parse_i64(argv[1], 0, INT64_MAX, &pos) < 0)
		return evt_usage_error("invalid position '%s'", argv[1]);
	return change(so, argv[0], pos);
}

static int parked(struct evt_store_opts *so, char **argv, int argc)
{
	struct evt_store *st;
	struct evt_err e = { 0, "" }, oe = { 0, "" };
	struct evt_out out;
	int rc, orc;

	if (argc != 1)
		return evt_usage_error("--parked takes NAME");
	so->write = 0;	/* a look: a missing store is an error */
	if ((rc = evt_store_open(&st, so, &e)))
		return evt_fail(&e);
	evt_out_init(&out, 1, EVT_OUT_AUTO);
	rc = evt_handle_parked(st, argv[0], &out, &e);
	evt_store_close(st);
	orc = evt_out_close(&out, &oe);
	if (rc > 0)
		return evt_fail(&e);
	return orc ? evt_fail(&oe) : 0;
}

static int drop(struct evt_store_opts *so, char **argv, int argc)
{
	if (argc != 1)
		return evt_usage_error("--drop takes NAME");
	so->write = 0;	/* nothing to drop in a missing store */
	return change(so, argv[0], -1);
}

int main(int argc, char **argv)
{
	static volatile sig_atomic_t stop;
	struct evt_store_opts so = { .write = 1, .relaxed = 1 };
	struct evt_handler h;
	struct evt_on *on = NULL;
	struct evt_store *st = NULL;
	struct evt_cli_split sp;
	struct evt_err e = { 0, "" };
	char **streams = NULL;
	const char *why, *bad = NULL;
	int do_status = 0, do_reset = 0, do_parked = 0, do_drop = 0;
	int wait = 0, named = 0, waited = 0, c, rc, dd;
	const char *look = NULL, *look2 = NULL, *group = NULL;
	struct evt_buf member = EVT_BUF_INIT;
	size_t k;

	evt_prog = "evt-handle";
	evt_cli_sigpipe();
	memset(&h, 0, sizeof(h));
	h.retry_delay_ms = 200;
	h.timeout_ms = -1;
	h.batch = 1;
	opterr = 0;
	dd = evt_cli_split_begin(&sp, argc, argv, ":d:h", options);
	while ((c = getopt_long(dd, argv, ":d:h", options, NULL)) != -1) {
		switch (c) {
		case OPT_ON:
			on = evt_xrealloc(on, (h.non + 1) * sizeof(*on));
			if ((why = evt_on_parse(optarg, &on[h.non]))) {
				free(on);
				return evt_usage_error("invalid --on: %s", why);
			}
			h.non++;
			break;
		case OPT_RETRIES:
			if (parse_int(optarg, 0, &h.retries) < 0)
				goto badnum;
			break;
		case OPT_RETRY_DELAY:
			if (parse_int(optarg, 0, &h.retry_delay_ms) < 0)
				goto badnum;
			break;
		case OPT_TIMEOUT:
			if (evt_parse_seconds(optarg, &h.timeout_ms) < 0)
				goto badnum;
			break;
		case OPT_BATCH:
			if (parse_int(optarg, 1, &h.batch) < 0)
				goto badnum;
			break;
		case OPT_CONTINUE: h.continue_on_error = 1; break;
		case OPT_TAIL: h.tail = 1; break;
		case OPT_ALWAYS_TAIL: h.always_tail = 1; break;
		case OPT_FOLLOW: h.follow = 1; break;
		case OPT_WAIT: wait = 1; break;
		case OPT_STATUS: do_status = 1; break;
		case OPT_RESET: do_reset = 1; break;
		case OPT_PARKED: do_parked = 1; break;
		case OPT_DROP: do_drop = 1; break;
		case OPT_RETRY_PARKED: h.retry_parked = 1; break;
		case OPT_GROUP:
			group = optarg;
			if (evt_group_parse(optarg, &h.group_i,
					    &h.group_n) < 0)
				goto badnum;
			break;
		case OPT_STREAM:
			if ((rc = evt_cli_add_stream(&streams, &h.nstreams,
						     optarg)))
				goto done;
			named = 1;
			break;
		default:
			if ((rc = evt_cli_common(c, dd, argv, &so, usage)) != -2) {
				free(on);
				return rc < 0 ? EVT_EUSAGE : rc;
			}
		}
	}
	h.on = on;
	/* the operations on a NAME, which run nothing */
	if (do_status)
		look = "status";
	if (do_reset)
		*(look ? &look2 : &look) = "reset";
	if (do_parked && !look2)
		*(look ? &look2 : &look) = "parked";
	if (do_drop && !look2)
		*(look ? &look2 : &look) = "drop";
	if ((rc = evt_cli_split_end(&sp, argc, argv, look ? -1 : 2 - named)))
		goto done;
	argc = sp.nargs;
	argv = sp.args;
	h.argv = sp.program;
	if (look2)
		rc = evt_usage_error("--%s and --%s cannot be used together",
				     look, look2);
	else if (look && (h.argv || h.non))
		rc = evt_usage_error("--%s takes no programs", look);
	else if (look && group)
		rc = evt_usage_error("--%s takes no --group (name a member as "
				     "NAME[I/N])", look);
	else if (do_status)
		rc = status(&so, argv, argc);
	else if (do_reset)
		rc = reset(&so, argv, argc);
	else if (do_parked)
		rc = parked(&so, argv, argc);
	else if (do_drop)
		rc = drop(&so, argv, argc);
	else if (argc < 2 - named)
		rc = evt_usage_error("expected NAME and STREAM (see evt-handle "
				     "--help)");
	else if (argc > 2 - named)
		rc = evt_usage_error("unexpected argument '%s'%s",
				     argv[2 - named], h.argv ? "" :
				     " (put the program after --)");
	else if (!h.argv && !h.non)
		rc = evt_usage_error("nothing to run: give --on or -- PROGRAM");
	else if (h.batch > 1 && (h.non || !h.argv))
		rc = evt_usage_error("--batch works with -- PROGRAM only");
	else if (h.always_tail && !h.follow)
		rc = evt_usage_error("--always-tail works with --follow only");
	else if ((why = evt_name_check(argv[0], strlen(argv[0]))))
		rc = evt_usage_error("invalid name '%s': %s", argv[0], why);
	else if (!named && (why = evt_split_streams(argv[1], &streams,
						    &h.nstreams, &bad)))
		rc = evt_usage_error("invalid stream '%s': %s", bad, why);
	for (k = 0; !rc && k < h.non; k++) {
		size_t j;

		if (!on[k].stream)
			continue;
		for (j = 0; j < h.nstreams; j++)
			if (strcmp(on[k].stream, streams[j]) == 0)
				break;
		if (j == h.nstreams)
			rc = evt_usage_error("invalid --on: stream '%s' is not "
					     "among the STREAMs '%s'",
					     on[k].stream, argv[1]);
	}
	if (rc || look)
		goto done;
	h.name = argv[0];
	if (group) {
		evt_buf_addf(&member, "%s[%d/%d]", argv[0], h.group_i,
			     h.group_n);
		if ((why = evt_name_check(member.p, member.len))) {
			rc = evt_usage_error("invalid name '%s': %s", member.p,
					     why);
			goto done;
		}
		h.name = member.p;
	}
	handler_name = h.name;
	h.streams = (const char *const *)streams;
	h.warn = warn_cb;
	if (isatty(2))
		h.progress = progress_cb;
	evt_follow_signals(&stop);
	/* --follow waits for a store that does not exist yet; then it was
	 * empty when we started, which is where --tail starts too. */
	if (h.follow && (rc = evt_store_await(&so, &stop, &waited, &e)))
		rc = evt_fail(&e);
	else if (!stop) {
		if (waited)
			h.tail = h.always_tail = 0;
		if ((rc = evt_store_open(&st, &so, &e)) ||
		    (rc = evt_store_lock(st, h.name, wait, &e)) ||
		    (rc = evt_handle(st, &h, &stop, &e)))
			rc = evt_fail(&e);
	}
	evt_store_close(st);
done:
	for (k = 0; k < h.nstreams; k++)
		free(streams[k]);
	free(streams);
	free(on);
	evt_buf_release(&member);
	return rc;
badnum:
	free(on);
	for (k = 0; k < h.nstreams; k++)
		free(streams[k]);
	free(streams);
	for (k = 0; options[k].name && options[k].val != c; k++)
		;
	return evt_usage_error("invalid --%s '%s'", options[k].name, optarg);
}
