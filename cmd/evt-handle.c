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
	"       evt-handle --status [--] [NAME...]\n"
	"       evt-handle --reset [--] NAME [POSITION]\n"
	"       evt-handle --parked [--] NAME\n"
	"       evt-handle --drop [--] NAME\n"
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
	"      --timeout SECONDS     stop a program and what it started after\n"
	"                            SECONDS (SIGTERM to its process group, then\n"
	"                            SIGKILL 5 s later): a failure\n"
	"      --continue-on-error   park a failed event and go on\n"
	"      --retry-parked        first run the parked events again, one at\n"
	"                            a time; each handled one is unparked\n"
	"      --tail                with no bookmark, start at the end and\n"
	"                            write it as the bookmark\n"
	"      --always-tail         start at the end every time (with --follow)\n"
	"      --follow              keep waiting for new events (and for a\n"
	"                            SQLite store that does not exist yet)\n"
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
		return evt_usage_error("invalid position '%s'%s", argv[1],
				       EVT_WHOLE_0);
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

/* The operations on a NAME, which run nothing. */
enum { LOOK_STATUS, LOOK_RESET, LOOK_PARKED, LOOK_DROP, NLOOK };
static const char *const look_name[NLOOK] = {
	"status", "reset", "parked", "drop"
};

/* The command line as read. */
struct cmdline {
	struct evt_store_opts so;
	struct evt_handler h;
	struct evt_on *on;		/* h.on, owned */
	char **streams;			/* h.streams, owned, each too */
	const char *group;		/* --group I/N, or NULL */
	struct evt_buf member;		/* h.name of a member: NAME[I/N] */
	int looks[NLOOK];		/* --status, --reset, ... given */
	int wait;			/* --wait */
	int named;			/* STREAMs given by --stream */
	int run_opt;			/* an option only a run takes, or 0 */
	char **args;			/* the operands */
	int nargs;
};

static int bad_value(int c, const char *arg)
{
	size_t k;

	for (k = 0; options[k].name && options[k].val != c; k++)
		;
	return evt_usage_error("invalid --%s '%s'%s", options[k].name, arg,
			       c == OPT_TIMEOUT ? EVT_SECONDS :
			       c == OPT_BATCH ? EVT_INT_1 :
			       c == OPT_GROUP ? ": expected I/N, 0 <= I < N "
						"<= 1024, such as 0/3" :
			       EVT_INT_0);
}

/* The option c (getopt_long's answer) into cl: EVT_CLI_NEXT to go on,
 * else the exit status to leave with. */
static int read_option(struct cmdline *cl, int c, int argc, char **argv)
{
	struct evt_handler *h = &cl->h;
	const char *why;
	int rc;

	switch (c) {
	case OPT_RETRIES: case OPT_RETRY_DELAY: case OPT_TIMEOUT:
	case OPT_BATCH: case OPT_STREAM: case OPT_CONTINUE: case OPT_TAIL:
	case OPT_ALWAYS_TAIL: case OPT_FOLLOW: case OPT_RETRY_PARKED:
		if (!cl->run_opt)
			cl->run_opt = c;
		break;
	}
	switch (c) {
	case OPT_ON:
		cl->on = evt_xrealloc(cl->on, (h->non + 1) * sizeof(*cl->on));
		if ((why = evt_on_parse(optarg, &cl->on[h->non])))
			return evt_usage_error("invalid --on: %s", why);
		h->on = cl->on;
		h->non++;
		return EVT_CLI_NEXT;
	case OPT_RETRIES:
		return parse_int(optarg, 0, &h->retries) < 0 ?
		       bad_value(c, optarg) : EVT_CLI_NEXT;
	case OPT_RETRY_DELAY:
		return parse_int(optarg, 0, &h->retry_delay_ms) < 0 ?
		       bad_value(c, optarg) : EVT_CLI_NEXT;
	case OPT_TIMEOUT:
		return evt_parse_seconds(optarg, &h->timeout_ms) < 0 ?
		       bad_value(c, optarg) : EVT_CLI_NEXT;
	case OPT_BATCH:
		return parse_int(optarg, 1, &h->batch) < 0 ?
		       bad_value(c, optarg) : EVT_CLI_NEXT;
	case OPT_GROUP:
		cl->group = optarg;
		return evt_group_parse(optarg, &h->group_i, &h->group_n) < 0 ?
		       bad_value(c, optarg) : EVT_CLI_NEXT;
	case OPT_STREAM:
		cl->named = 1;
		return (rc = evt_cli_add_stream(&cl->streams, &h->nstreams,
						optarg)) ? rc : EVT_CLI_NEXT;
	case OPT_CONTINUE: h->continue_on_error = 1; return EVT_CLI_NEXT;
	case OPT_TAIL: h->tail = 1; return EVT_CLI_NEXT;
	case OPT_ALWAYS_TAIL: h->always_tail = 1; return EVT_CLI_NEXT;
	case OPT_FOLLOW: h->follow = 1; return EVT_CLI_NEXT;
	case OPT_RETRY_PARKED: h->retry_parked = 1; return EVT_CLI_NEXT;
	case OPT_WAIT: cl->wait = 1; return EVT_CLI_NEXT;
	case OPT_STATUS: cl->looks[LOOK_STATUS] = 1; return EVT_CLI_NEXT;
	case OPT_RESET: cl->looks[LOOK_RESET] = 1; return EVT_CLI_NEXT;
	case OPT_PARKED: cl->looks[LOOK_PARKED] = 1; return EVT_CLI_NEXT;
	case OPT_DROP: cl->looks[LOOK_DROP] = 1; return EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, &cl->so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* The operation on a NAME that was asked for (--status, ...): its exit
 * status, or EVT_CLI_NEXT when none was. */
static int look(struct cmdline *cl)
{
	int k, first = -1;

	for (k = 0; k < NLOOK; k++) {
		if (!cl->looks[k])
			continue;
		if (first >= 0)
			return evt_usage_error("--%s and --%s cannot be used "
					       "together", look_name[first],
					       look_name[k]);
		first = k;
	}
	if (first < 0)
		return EVT_CLI_NEXT;
	if (cl->h.argv || cl->h.non)
		return evt_usage_error("--%s takes no programs",
				       look_name[first]);
	if (cl->group)
		return evt_usage_error("--%s takes no --group (name a member "
				       "as NAME[I/N])", look_name[first]);
	if (cl->run_opt) {
		/* "--reset --follow 5" would reset a bookmark named 5 */
		for (k = 0; options[k].name &&
			    options[k].val != cl->run_opt; k++)
			;
		return evt_usage_error("--%s takes no --%s (an option of a "
				       "run)", look_name[first],
				       options[k].name);
	}
	switch (first) {
	case LOOK_STATUS:
		return status(&cl->so, cl->args, cl->nargs);
	case LOOK_RESET:
		return reset(&cl->so, cl->args, cl->nargs);
	case LOOK_PARKED:
		return parked(&cl->so, cl->args, cl->nargs);
	default:
		return drop(&cl->so, cl->args, cl->nargs);
	}
}

/* Each --on STREAM:TYPE names one of the STREAMs. */
static int check_on_streams(const struct cmdline *cl)
{
	const struct evt_handler *h = &cl->h;
	size_t k, j, len = 1;
	char *all;
	int rc;

	for (k = 0; k < h->non; k++) {
		if (!cl->on[k].stream)
			continue;
		for (j = 0; j < h->nstreams; j++)
			if (strcmp(cl->on[k].stream, cl->streams[j]) == 0)
				break;
		if (j < h->nstreams)
			continue;
		/* the STREAMs as one list, whether from STREAM or --stream */
		for (j = 0; j < h->nstreams; j++)
			len += strlen(cl->streams[j]) + 1;
		all = evt_xmalloc(len);
		all[0] = '\0';
		for (j = 0; j < h->nstreams; j++) {
			if (j)
				strcat(all, ",");
			strcat(all, cl->streams[j]);
		}
		rc = evt_usage_error("invalid --on: stream '%s' is not among "
				     "the STREAMs '%s'", cl->on[k].stream, all);
		free(all);
		return rc;
	}
	return 0;
}

/* The operands of a run, NAME and STREAMs, and what it runs: checked,
 * then into cl->h.  0, or EVT_EUSAGE after a message. */
static int run_args(struct cmdline *cl)
{
	struct evt_handler *h = &cl->h;
	int want = 2 - cl->named, rc;
	const char *why, *bad = NULL;

	if (cl->nargs < want)
		return evt_usage_error("expected NAME and STREAM (see "
				       "evt-handle --help)");
	if (cl->nargs > want)
		return evt_usage_error("unexpected argument '%s'%s",
				       cl->args[want], h->argv ? "" :
				       " (put the program after --)");
	if (!h->argv && !h->non)
		return evt_usage_error("nothing to run: give --on or -- "
				       "PROGRAM");
	if (h->batch > 1 && (h->non || !h->argv))
		return evt_usage_error("--batch works with -- PROGRAM only");
	if (h->always_tail && !h->follow)
		return evt_usage_error("--always-tail works with --follow "
				       "only");
	if ((why = evt_name_check(cl->args[0], strlen(cl->args[0]))))
		return evt_usage_error("invalid name '%s': %s", cl->args[0],
				       why);
	if (!cl->named && (why = evt_split_streams(cl->args[1], &cl->streams,
						   &h->nstreams, &bad)))
		return evt_usage_error("invalid stream '%s': %s", bad, why);
	if ((rc = check_on_streams(cl)))
		return rc;
	h->name = cl->args[0];
	h->streams = (const char *const *)cl->streams;
	if (!cl->group)
		return 0;
	evt_buf_addf(&cl->member, "%s[%d/%d]", cl->args[0], h->group_i,
		     h->group_n);
	if ((why = evt_name_check(cl->member.p, cl->member.len)))
		return evt_usage_error("invalid name '%s': %s", cl->member.p,
				       why);
	h->name = cl->member.p;
	return 0;
}

/* Hold NAME and handle its events (with --follow, until SIGINT or
 * SIGTERM). */
static int run(struct cmdline *cl)
{
	static volatile sig_atomic_t stop;
	struct evt_handler *h = &cl->h;
	struct evt_store *st = NULL;
	struct evt_err e = { 0, "" };
	int waited = 0, rc = 0;

	handler_name = h->name;
	h->warn = warn_cb;
	if (isatty(2))
		h->progress = progress_cb;
	evt_follow_signals(&stop);
	/* --follow waits for a store that does not exist yet; then it was
	 * empty when we started, which is where --tail starts too. */
	if (h->follow && (rc = evt_store_await(&cl->so, &stop, &waited, &e)))
		rc = evt_fail(&e);
	else if (!stop) {
		if (waited)
			h->tail = h->always_tail = 0;
		if ((rc = evt_store_open(&st, &cl->so, &e)) ||
		    (rc = evt_store_lock(st, h->name, cl->wait, &e)) ||
		    (rc = evt_handle(st, h, &stop, &e)))
			rc = evt_fail(&e);
	}
	evt_store_close(st);
	return rc;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	struct evt_cli_split sp;
	int c, rc = EVT_CLI_NEXT, dd;
	size_t k;

	evt_prog = "evt-handle";
	evt_cli_sigpipe();
	memset(&cl, 0, sizeof(cl));
	cl.so.write = 1;
	cl.so.relaxed = 1;
	cl.h.retry_delay_ms = 200;
	cl.h.timeout_ms = -1;
	cl.h.batch = 1;
	opterr = 0;
	dd = evt_cli_split_begin(&sp, argc, argv, ":d:h", options);
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(dd, argv, ":d:h", options, NULL)) != -1)
		rc = read_option(&cl, c, dd, argv);
	if (rc != EVT_CLI_NEXT)
		goto done;
	for (k = 0; k < NLOOK && !cl.looks[k]; k++)
		;
	if ((rc = evt_cli_split_end(&sp, argc, argv,
				    k < NLOOK ? -1 : 2 - cl.named)))
		goto done;
	cl.args = sp.args;
	cl.nargs = sp.nargs;
	cl.h.argv = sp.program;
	if ((rc = look(&cl)) == EVT_CLI_NEXT && !(rc = run_args(&cl)))
		rc = run(&cl);
done:
	for (k = 0; k < cl.h.nstreams; k++)
		free(cl.streams[k]);
	free(cl.streams);
	free(cl.on);
	evt_buf_release(&cl.member);
	return rc;
}
